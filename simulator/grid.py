"""Simulated grid meter: a scriptable household load plus what the simulated EVs draw.

The control API (`add_grid_routes`) sets the household load per phase
(`POST /sim/grid {"currents": [..]}` -> `set_household`) and can make the
meter go silent (`{"lost": true}` -> `set_lost`). Each `read()` returns, once per period,
household load + the current that the charger's own meters measure - the simulated
solar production (simulator/pv.py, `POST /sim/pv`), as a real meter at the grid
connection would (an export reads negative).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from aiohttp import web

from hal.errors import DeviceError
from hal.grid import GridReading, TariffPeriod
from hal.grid_pushed import check_currents
from hal.meter import EnergyMeter
from simulator.pv import PvProfile


class SimGridMeter:
    def __init__(
        self,
        meters: Sequence[EnergyMeter],
        *,
        household: Sequence[float] = (0.0, 0.0, 0.0),
        interval_s: float = 1.0,
        phases: int = 3,
    ) -> None:
        if phases not in (1, 3):
            raise ValueError("phases: 1 or 3")
        self._meters = list(meters)
        self.phases = phases
        self.interval_s = interval_s
        self._household = self._pad(check_currents(list(household)))
        self.tariff: TariffPeriod | None = None
        self._lost = False
        self._latest: GridReading | None = None
        self._next = 0.0
        self.pv = PvProfile(phases)  # subtracted: an export reads negative

    def _pad(self, currents: tuple[float, ...]) -> tuple[float, ...]:
        values = list(currents[: self.phases])
        return tuple(values + [0.0] * (self.phases - len(values)))

    @property
    def period_s(self) -> float:
        return self.interval_s

    @property
    def household(self) -> tuple[float, ...]:
        return self._household

    def set_household(self, currents: Sequence[object]) -> None:
        """Raises ValueError on bad input (and changes nothing)."""
        # measured at the next period, as a real meter's next telegram
        self._household = self._pad(check_currents(currents))

    @property
    def lost(self) -> bool:
        return self._lost

    def set_lost(self, lost: bool) -> None:
        self._lost = lost

    def set_tariff(self, tariff: TariffPeriod | None) -> None:
        self.tariff = tariff

    def latest(self) -> GridReading | None:
        r = self._latest
        if self._lost or r is None or time.time() - r.timestamp > 3 * self.interval_s:
            return None
        return r

    async def close(self) -> None:
        return None

    async def read(self) -> GridReading:
        delay = self._next - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        self._next = max(self._next, time.monotonic()) + self.interval_s
        if self._lost:
            raise DeviceError("simulated grid meter: lost")
        ev = [0.0] * self.phases
        for meter in self._meters:
            reading = await meter.read()
            for n in range(self.phases):
                ev[n] += reading.current_a[n]
        pv = self.pv.currents()
        currents = tuple(h + e - s for h, e, s in zip(self._household, ev, pv, strict=True))
        self._latest = GridReading(current_a=currents, timestamp=time.time(), tariff=self.tariff)
        return self._latest


GRID = web.AppKey("grid", SimGridMeter)


async def _post_grid(request: web.Request) -> web.Response:
    grid = request.app[GRID]
    try:
        data = await request.json()
    except ValueError:
        return _bad("body must be JSON")
    if not isinstance(data, dict):
        return _bad("body must be a JSON object")
    try:
        if "currents" in data:
            grid.set_household(data["currents"])
        if "lost" in data:
            if not isinstance(data["lost"], bool):
                return _bad("lost must be true or false")
            grid.set_lost(data["lost"])
    except ValueError as e:
        return _bad(str(e))
    return web.json_response(_state(grid))


async def _get_grid(request: web.Request) -> web.Response:
    return web.json_response(_state(request.app[GRID]))


def _bad(message: str) -> web.Response:
    return web.json_response({"error": "BadRequest", "message": message}, status=400)


def _state(grid: SimGridMeter) -> dict[str, object]:
    latest = grid.latest()
    return {
        "household": list(grid.household),
        "lost": grid.lost,
        "measured": None if latest is None else [round(a, 3) for a in latest.current_a],
    }


def add_grid_routes(app: web.Application, grid: SimGridMeter) -> None:
    """GET /sim/grid, POST /sim/grid {"currents": [..], "lost": bool} on the control API.

    Call before the app starts (ControlServer(...).app).
    """
    app[GRID] = grid
    app.router.add_get("/sim/grid", _get_grid)
    app.router.add_post("/sim/grid", _post_grid)
