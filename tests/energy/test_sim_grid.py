"""The simulated grid meter and its control routes (a running aiohttp app)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from hal.errors import DeviceError
from hal.meter import MeterReading
from simulator.grid import SimGridMeter, add_grid_routes


class FixedMeter:
    def __init__(self, amps: tuple[float, float, float]) -> None:
        self.amps = amps

    async def read(self) -> MeterReading:
        return MeterReading((230.0,) * 3, self.amps, (0.0,) * 3, 0.0, 0.0)  # type: ignore[arg-type]


async def test_reads_household_plus_ev() -> None:
    grid = SimGridMeter([FixedMeter((10.0, 10.0, 0.0))], household=[3.0, 1.0], interval_s=0.01)
    assert (await grid.read()).current_a == (13.0, 11.0, 0.0)
    grid.set_household([5.0, 5.0, 5.0])
    assert (await grid.read()).current_a == (15.0, 15.0, 5.0)
    grid.set_lost(True)
    with pytest.raises(DeviceError):
        await grid.read()
    assert grid.latest() is None


async def test_single_phase_installation_keeps_one_phase() -> None:
    grid = SimGridMeter([FixedMeter((7.0, 0.0, 0.0))], household=[2.0], phases=1, interval_s=0.01)
    assert (await grid.read()).current_a == (9.0,)


async def test_control_routes(aiohttp_client: Any) -> None:
    grid = SimGridMeter([], interval_s=0.01)
    app = web.Application()
    add_grid_routes(app, grid)
    client = await aiohttp_client(app)
    resp = await client.post("/sim/grid", json={"currents": [12.5, 3, 0]})
    assert resp.status == 200
    assert (await resp.json())["household"] == [12.5, 3.0, 0.0]
    resp = await client.post("/sim/grid", json={"currents": [1, 2, 3, 4]})
    assert resp.status == 400
    assert "1 to 3" in (await resp.json())["message"]
    assert grid.household == (12.5, 3.0, 0.0)  # bad input changed nothing
    resp = await client.post("/sim/grid", json={"currents": ["x"]})
    assert resp.status == 400
    resp = await client.post("/sim/grid", json={"lost": True})
    assert (await resp.json())["lost"] is True
    resp = await client.post("/sim/grid", data="nope")
    assert resp.status == 400
    resp = await client.get("/sim/grid")
    assert (await resp.json())["measured"] is None
