"""Simulated solar production (PV) that the simulated grid meter subtracts.

A profile is either a constant (watts spread evenly over the inverter's phases, or
amps per phase) or a day curve: a sine bell from sunrise to sunset with `peak_w` at
noon, on a time scale where a whole day lasts `day_s` seconds (so a test or a demo
runs a "day" in a minute). The grid meter reads household + EV - PV per phase: an
export shows as a negative current, as on a real bidirectional meter.

Control API: `POST /sim/pv` with one of
  {"watts": 3000}                     constant, over `phases` (default: the grid's)
  {"currents": [10, 10, 10]}          constant, amps per phase
  {"day": {"peak_w": 7000, "day_s": 60, "sunrise_h": 6, "sunset_h": 20, "start_h": 5}}
  {"off": true}
and `GET /sim/pv` (the profile and what it produces now).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

VOLTAGE_V = 230.0
MAX_PV_W = 50_000.0
MAX_PV_A = 100.0


@dataclass(frozen=True)
class DayCurve:
    peak_w: float
    day_s: float  # real seconds per simulated 24 h
    sunrise_h: float = 6.0
    sunset_h: float = 20.0
    start_h: float = 0.0  # simulated hour at the moment the curve was set
    started: float = 0.0  # time.monotonic() then

    def hour(self, now: float) -> float:
        return (self.start_h + (now - self.started) / self.day_s * 24.0) % 24.0

    def watts(self, now: float) -> float:
        h = self.hour(now)
        if not self.sunrise_h < h < self.sunset_h:
            return 0.0
        x = (h - self.sunrise_h) / (self.sunset_h - self.sunrise_h)
        return self.peak_w * math.sin(math.pi * x)


class PvProfile:
    def __init__(self, phases: int = 3) -> None:
        self.phases = phases
        self._currents: tuple[float, ...] | None = None  # constant amps per phase
        self._curve: DayCurve | None = None
        self._curve_phases = phases

    def off(self) -> None:
        self._currents, self._curve = None, None

    def set_watts(self, watts: object, phases: object = None) -> None:
        n = self._check_phases(phases)
        w = _number(watts, "watts", 0.0, MAX_PV_W)
        self.off()
        per_phase = w / (VOLTAGE_V * n)
        self._currents = tuple(per_phase if p < n else 0.0 for p in range(self.phases))

    def set_currents(self, currents: object) -> None:
        if not isinstance(currents, list) or not 1 <= len(currents) <= self.phases:
            raise ValueError(f"currents: a list of 1 to {self.phases} numbers")
        values = [_number(a, f"currents[{n + 1}]", 0.0, MAX_PV_A) for n, a in enumerate(currents)]
        self.off()
        self._currents = tuple(values + [0.0] * (self.phases - len(values)))

    def set_day(self, day: object, now: float | None = None) -> None:
        if not isinstance(day, dict):
            raise ValueError("day: an object {peak_w, day_s, sunrise_h, sunset_h, start_h}")
        unknown = set(day) - {"peak_w", "day_s", "sunrise_h", "sunset_h", "start_h", "phases"}
        if unknown:
            raise ValueError(f"day: unknown keys {sorted(unknown)}")
        curve = DayCurve(
            peak_w=_number(day.get("peak_w"), "day.peak_w", 0.0, MAX_PV_W),
            day_s=_number(day.get("day_s", 86400.0), "day.day_s", 1.0, 86400.0 * 7),
            sunrise_h=_number(day.get("sunrise_h", 6.0), "day.sunrise_h", 0.0, 24.0),
            sunset_h=_number(day.get("sunset_h", 20.0), "day.sunset_h", 0.0, 24.0),
            start_h=_number(day.get("start_h", 0.0), "day.start_h", 0.0, 24.0),
            started=time.monotonic() if now is None else now,
        )
        if curve.sunrise_h >= curve.sunset_h:
            raise ValueError("day: sunrise_h must be before sunset_h")
        n = self._check_phases(day.get("phases"))
        self.off()
        self._curve, self._curve_phases = curve, n

    def _check_phases(self, phases: object) -> int:
        if phases is None:
            return self.phases
        if phases not in (1, 3) or isinstance(phases, bool) or phases > self.phases:
            raise ValueError(f"phases: 1 or {self.phases}")
        return int(phases)

    def currents(self, now: float | None = None) -> tuple[float, ...]:
        """Amps produced per phase now (>= 0)."""
        if self._currents is not None:
            return self._currents
        if self._curve is None:
            return (0.0,) * self.phases
        now = time.monotonic() if now is None else now
        n = self._curve_phases
        per_phase = self._curve.watts(now) / (VOLTAGE_V * n)
        return tuple(per_phase if p < n else 0.0 for p in range(self.phases))

    def state(self) -> dict[str, Any]:
        amps = self.currents()
        out: dict[str, Any] = {
            "kind": "day" if self._curve else "constant" if self._currents else "off",
            "currents": [round(a, 3) for a in amps],
            "watts": round(sum(amps) * VOLTAGE_V, 1),
        }
        if self._curve is not None:
            out["hour"] = round(self._curve.hour(time.monotonic()), 3)
            out["day_s"] = self._curve.day_s
            out["peak_w"] = self._curve.peak_w
        return out


def _number(value: object, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name}: {value!r} is not a number")
    if not low <= value <= high:
        raise ValueError(f"{name}: {value} must be {low:g}..{high:g}")
    return float(value)


def apply_request(pv: PvProfile, data: object) -> None:
    """One POST /sim/pv body. Raises ValueError and changes nothing on a bad one."""
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    kinds = [k for k in ("watts", "currents", "day", "off") if k in data]
    if len(kinds) != 1:
        raise ValueError("one of watts, currents, day or off")
    unknown = set(data) - {"watts", "currents", "day", "off", "phases"}
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}")
    kind = kinds[0]
    if kind == "watts":
        pv.set_watts(data["watts"], data.get("phases"))
    elif kind == "currents":
        pv.set_currents(data["currents"])
    elif kind == "day":
        pv.set_day(data["day"])
    elif data["off"] is not True:
        raise ValueError("off: true")
    else:
        pv.off()


PV = web.AppKey("pv", PvProfile)


async def _post_pv(request: web.Request) -> web.Response:
    pv = request.app[PV]
    try:
        apply_request(pv, await request.json())
    except ValueError as e:  # json.JSONDecodeError is one too
        return web.json_response({"error": "BadRequest", "message": str(e)}, status=400)
    return web.json_response(pv.state())


async def _get_pv(request: web.Request) -> web.Response:
    return web.json_response(request.app[PV].state())


def add_pv_routes(app: web.Application, pv: PvProfile) -> None:
    """GET/POST /sim/pv on the control API (before the app starts)."""
    app[PV] = pv
    app.router.add_get("/sim/pv", _get_pv)
    app.router.add_post("/sim/pv", _post_pv)
