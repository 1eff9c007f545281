"""Grid meter backend for `load-shedding` NO: currents pushed by an external energy manager.

`POST /config/grid-currents` hands the values to `push()`. They feed the load
balancer until they go stale: `read()` raises DeviceTimeout when no push came
for `stale_after_s`, and the balancer falls back to its safe current.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from hal.grid import GridReading, NextReading

MAX_ABS_CURRENT = 1000.0  # amps; anything larger is a unit mistake (mA?)


def check_currents(currents: Sequence[object]) -> tuple[float, ...]:
    """1 to 3 numbers, one per phase, in amps. Raises ValueError saying what is wrong."""
    if isinstance(currents, str | bytes) or not 1 <= len(currents) <= 3:
        raise ValueError("gridCurrents: 1 to 3 numbers, one per phase")
    out: list[float] = []
    for n, value in enumerate(currents, start=1):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"gridCurrents[{n}]: {value!r} is not a number")
        if not math.isfinite(value) or abs(value) > MAX_ABS_CURRENT:
            raise ValueError(f"gridCurrents[{n}]: {value!r} A is out of range")
        out.append(float(value))
    return tuple(out)


class PushedGrid:
    def __init__(self, stale_after_s: float = 30.0) -> None:
        if stale_after_s <= 0:
            raise ValueError("stale_after_s: > 0")
        self.stale_after_s = stale_after_s
        self._next = NextReading()

    @property
    def period_s(self) -> float:
        return self.stale_after_s

    def push(self, currents: Sequence[object], now: float | None = None) -> GridReading:
        reading = GridReading(
            current_a=check_currents(currents), timestamp=time.time() if now is None else now
        )
        self._next.put(reading)
        return reading

    def latest(self) -> GridReading | None:
        r = self._next.latest
        if r is None or time.time() - r.timestamp > self.stale_after_s:
            return None
        return r

    async def read(self) -> GridReading:
        last = self._next.latest
        # the next push, or stale: the time left of the newest value, or a full period
        left = self.stale_after_s - (time.time() - last.timestamp) if last else self.stale_after_s
        return await self._next.wait(left, "grid currents not pushed")

    async def close(self) -> None:
        return None
