"""/schedules/chargepoint: the local charging schedule (a named limit source, issue 5).

ChargingSchedule {recurring: daily|weekly|none, sections: [{time, limit}]}:
`time` = seconds from the start of the day / week (local time) / from now
(`none`, fixed at the moment it is posted: `start` is added); `limit` = amps.
"""

from __future__ import annotations

import math
import time
from typing import Any

from aiohttp import web

from ncpa.api.energy_settings import RECURRING
from ncpa.api.errors import bad_param
from ncpa.api.pairing import MAX_EPOCH_S
from ncpa.api.params import json_body
from ncpa.api.routes import Route, ok, state

MAX_SECTIONS = 48
PERIOD_S = {"daily": 86_400, "weekly": 604_800, "none": 366 * 86_400}


def _number(value: Any, where: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise bad_param("chargingSchedule", f"{where}: must be a number")
    if not lo <= value <= hi:
        raise bad_param("chargingSchedule", f"{where}: {value} is out of range {lo:g}..{hi:g}")
    return float(value)


def check_schedule(raw: Any, max_amps: float) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise bad_param("chargingSchedule", "must be an object {recurring, sections}")
    unknown = set(raw) - {"recurring", "sections", "start"}
    if unknown:
        raise bad_param("chargingSchedule", f"unknown field(s) {', '.join(sorted(unknown))}")
    recurring = raw.get("recurring")
    if recurring not in RECURRING:
        raise bad_param("chargingSchedule", f"recurring: one of {', '.join(RECURRING)}")
    sections = raw.get("sections")
    if not isinstance(sections, list) or len(sections) > MAX_SECTIONS:
        raise bad_param("chargingSchedule", f"sections: a list of at most {MAX_SECTIONS}")
    out: list[dict[str, float]] = []
    for i, s in enumerate(sections):
        if not isinstance(s, dict) or set(s) != {"time", "limit"}:
            raise bad_param("chargingSchedule", f"sections[{i}]: an object {{time, limit}}")
        t = _number(s["time"], f"sections[{i}].time", 0, PERIOD_S[recurring] - 1)
        limit = _number(s["limit"], f"sections[{i}].limit", 0, max_amps)
        if out and t <= out[-1]["time"]:
            raise bad_param("chargingSchedule", f"sections[{i}].time: must increase")
        out.append({"time": t, "limit": limit})
    start = raw.get("start")
    # the charger sets `start`; a schedule read back (GET) may carry it, of its own type only
    if "start" in raw and (
        isinstance(start, bool) or not isinstance(start, int) or not 0 <= start <= MAX_EPOCH_S
    ):
        raise bad_param("chargingSchedule", "start: epoch seconds (an integer), set by the charger")
    schedule: dict[str, Any] = {"recurring": recurring, "sections": out}
    if recurring == "none":
        schedule["start"] = int(time.time())  # "from now": fixed when posted
    return schedule


async def get_schedule(request: web.Request) -> web.Response:
    return ok(await state(request).energy.charge_schedule())


async def post_schedule(request: web.Request) -> web.Response:
    st = state(request)
    raw = await json_body(request, "chargingSchedule")
    schedule = check_schedule(raw, st.station.config.station.absolute_max_current)
    try:
        await st.energy.set_charge_schedule(schedule)
    except ValueError as e:
        raise bad_param("chargingSchedule", str(e)) from e
    return ok(await st.energy.charge_schedule())


ROUTES = [
    Route("GET", "/schedules/chargepoint", get_schedule, "operator"),
    Route("POST", "/schedules/chargepoint", post_schedule, "operator"),
]
