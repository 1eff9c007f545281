"""Local charging schedule (`/schedules/chargepoint`): limit source "schedule".

The model of the local API: `{"recurring": "daily" | "weekly" | "none",
"sections": [{"time": seconds, "limit": amps}, ...]}`. `time` counts from
the start of the local day (daily), from Monday 00:00 local time (weekly), or
from the moment the schedule was set (none; kept as `start`, epoch seconds).
A section holds until the next one; a recurring schedule wraps around (before
its first section, the last one of the previous day/week holds); a one-off
schedule sets no limit before its first section.

Times are wall-clock times in the configured time zone (zoneinfo), so a
section at 07:00 starts at 07:00 local on both sides of a DST change. In the
repeated hour of autumn the limit stays as it was at the end of the first
pass (a section does not fire twice); a section inside the skipped hour of
spring starts when the clock jumps over it.

Persisted in store setting `charge_schedule` (as `LocalSchedule.to_json()`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ncpa.energy.limits import SCHEDULE
from ncpa.energy.settings import KEY_CHARGE_SCHEDULE, MAX_GRID_CURRENT
from ncpa.energy.station_api import StationInfo
from ncpa.energy.tasks import cancel
from ncpa.log import get_logger

log = get_logger(__name__)

RECURRING = ("daily", "weekly", "none")
PERIOD_S = {"daily": 86400, "weekly": 7 * 86400}
MAX_SECTIONS = 100


class ScheduleError(ValueError):
    """The schedule is malformed; the message says where."""


@dataclass(frozen=True, slots=True)
class ScheduleSection:
    time: float  # seconds from the start of the day / week / schedule
    limit: float  # amps


@dataclass(frozen=True)
class LocalSchedule:
    recurring: str
    sections: tuple[ScheduleSection, ...]  # sorted by time, times unique
    start: float | None = None  # epoch seconds; "none" only

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "recurring": self.recurring,
            "sections": [{"time": s.time, "limit": s.limit} for s in self.sections],
        }
        if self.start is not None:
            out["start"] = int(self.start)
        return out


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScheduleError(f"{where}: {value!r} is not a number")
    return float(value)


def parse_schedule(obj: object, now: float | None = None) -> LocalSchedule:
    """Check an API ChargingSchedule object. A one-off one without `start` starts at `now`."""
    if not isinstance(obj, dict):
        raise ScheduleError("chargingSchedule: must be an object")
    recurring = obj.get("recurring")
    if recurring not in RECURRING:
        raise ScheduleError(f"recurring: {recurring!r}, one of {', '.join(RECURRING)}")
    sections = obj.get("sections")
    if not isinstance(sections, list):
        raise ScheduleError("sections: must be a list")
    if len(sections) > MAX_SECTIONS:
        raise ScheduleError(f"sections: at most {MAX_SECTIONS}")
    period = PERIOD_S.get(recurring)
    parsed: list[ScheduleSection] = []
    for n, section in enumerate(sections):
        if not isinstance(section, dict):
            raise ScheduleError(f"sections[{n}]: must be an object with time and limit")
        t = _number(section.get("time"), f"sections[{n}].time")
        limit = _number(section.get("limit"), f"sections[{n}].limit")
        if t < 0 or (period is not None and t >= period):
            bound = f"0..{period - 1}" if period else ">= 0"
            raise ScheduleError(f"sections[{n}].time: {t:g} s, must be {bound} for {recurring}")
        if not 0 <= limit <= MAX_GRID_CURRENT:
            raise ScheduleError(
                f"sections[{n}].limit: {limit:g} A, must be 0..{MAX_GRID_CURRENT:g}"
            )
        parsed.append(ScheduleSection(t, limit))
    parsed.sort(key=lambda s: s.time)
    for a, b in itertools.pairwise(parsed):
        if a.time == b.time:
            raise ScheduleError(f"sections: two sections at time {a.time:g}")
    start: float | None = None
    if recurring == "none":
        raw_start = obj.get("start")
        start = (
            _number(raw_start, "start")
            if raw_start is not None
            else (time.time() if now is None else now)
        )
    return LocalSchedule(recurring, tuple(parsed), start)


def local_zone(name: str = "") -> tzinfo:
    """The IANA zone `name`, or the system's (/etc/localtime), with its DST rules."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ScheduleError(f"timezone {name!r}: unknown") from e
    localtime = Path("/etc/localtime")
    if localtime.exists():
        with localtime.open("rb") as f:
            return ZoneInfo.from_file(f, key="localtime")
    return UTC


def _wall(local: datetime) -> float:
    return local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6


def _wall_seconds(when: datetime, tz: tzinfo) -> tuple[float, datetime]:
    """Wall-clock seconds since local midnight; frozen at the end of the first pass in a fold."""
    local = when.astimezone(tz)
    if local.fold == 0 or local.utcoffset() == local.replace(fold=0).utcoffset():
        return _wall(local), local
    # second pass of a repeated hour: find where it ends (binary search, <= 2 h)
    base = when.astimezone(UTC)  # arithmetic on aware local times is wall-clock: use UTC
    lo, hi = 0.0, 7200.0
    while hi - lo > 0.5:
        mid = (lo + hi) / 2
        probe = (base + timedelta(seconds=mid)).astimezone(tz)
        if probe.fold == 1 and probe.utcoffset() != probe.replace(fold=0).utcoffset():
            lo = mid
        else:
            hi = mid
    end = (base + timedelta(seconds=hi)).astimezone(tz)
    return max(_wall(local), _wall(end) - 1e-3), local


def _position(schedule: LocalSchedule, when: datetime, tz: tzinfo) -> float:
    """Seconds into the schedule's period (or since its start) at `when`."""
    if schedule.recurring == "none":
        return when.timestamp() - (schedule.start or 0.0)
    wall, local = _wall_seconds(when, tz)
    if schedule.recurring == "weekly":
        return local.weekday() * 86400 + wall
    return wall


def limit_at(schedule: LocalSchedule | None, when: datetime, tz: tzinfo) -> float | None:
    """The schedule's limit at the aware datetime `when`; None when it sets none."""
    if schedule is None or not schedule.sections:
        return None
    pos = _position(schedule, when, tz)
    current: ScheduleSection | None = None
    for section in schedule.sections:
        if section.time <= pos:
            current = section
    if current is None:
        if schedule.recurring == "none":
            return None
        current = schedule.sections[-1]  # wraps around from the previous day / week
    return current.limit


def next_change(schedule: LocalSchedule | None, when: datetime, tz: tzinfo) -> datetime | None:
    """The next instant after `when` at which a section may start (for waking up)."""
    if schedule is None or not schedule.sections:
        return None
    if schedule.recurring == "none":
        start = schedule.start or 0.0
        for s in schedule.sections:
            at = datetime.fromtimestamp(start + s.time, UTC)
            if at > when:
                return at
        return None
    when = when.astimezone(UTC)  # same-tzinfo comparisons would be wall-clock: compare in UTC
    local = when.astimezone(tz)
    day0 = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    if schedule.recurring == "weekly":
        day0 -= timedelta(days=local.weekday())
    period = timedelta(seconds=PERIOD_S[schedule.recurring])
    best: datetime | None = None
    for k in (0, 1):
        for s in schedule.sections:
            naive = day0 + k * period + timedelta(seconds=s.time)
            # fold=0; a time in a gap maps next to the jump
            at = naive.replace(tzinfo=tz).astimezone(UTC)
            if at > when and (best is None or at < best):
                best = at
    return best


class ScheduleSource:
    """Keeps limit source "schedule" (station-wide) equal to the schedule's limit now."""

    MAX_SLEEP_S = 60.0  # re-evaluate at least this often (clock changes, missed wake-ups)

    def __init__(self, station: StationInfo, tz: tzinfo) -> None:
        self.station = station
        self.tz = tz
        self.schedule: LocalSchedule | None = None
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def load(self) -> None:
        """Read the setting; anchor (and persist) a one-off schedule that has no start yet."""
        raw = await self.station.store.get_setting(KEY_CHARGE_SCHEDULE)
        if raw is None:
            self.set(None)
            return
        try:
            schedule = parse_schedule(raw)
        except ScheduleError as e:
            log.error("schedule.invalid", error=str(e))
            self.set(None)
            return
        if isinstance(raw, dict) and schedule.recurring == "none" and "start" not in raw:
            await self.station.store.set_setting(KEY_CHARGE_SCHEDULE, schedule.to_json())
        self.set(schedule)

    def set(self, schedule: LocalSchedule | None) -> None:
        if schedule != self.schedule:
            log.info("schedule.set", schedule=schedule.to_json() if schedule else None)
        self.schedule = schedule
        self.apply()
        self._changed.set()

    def limit(self, now: float | None = None) -> float | None:
        when = datetime.fromtimestamp(time.time() if now is None else now, UTC)
        return limit_at(self.schedule, when, self.tz)

    def apply(self, now: float | None = None) -> None:
        amps = self.limit(now)
        if self.station.limits.get(SCHEDULE) != amps:
            self.station.limits.set(SCHEDULE, amps)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="schedule")

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None
        self.station.limits.set(SCHEDULE, None)

    async def _run(self) -> None:
        while True:
            self.apply()
            now = datetime.now(UTC)
            nxt = next_change(self.schedule, now, self.tz)
            sleep = self.MAX_SLEEP_S
            if nxt is not None:
                sleep = min(sleep, max(0.05, (nxt - now).total_seconds() + 0.01))
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(sleep):
                    await self._changed.wait()
