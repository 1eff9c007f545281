"""The simulated PV: constants and the day curve, subtracted by the simulated grid meter;
its control route (a running aiohttp app) and `ncpa-sim pv`."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web

from simulator.cli import main as sim_cli
from simulator.grid import SimGridMeter
from simulator.pv import DayCurve, PvProfile, add_pv_routes, apply_request
from tests.energy.test_sim_grid import FixedMeter


async def test_the_grid_meter_subtracts_the_production() -> None:
    grid = SimGridMeter([FixedMeter((6.0, 6.0, 6.0))], household=[1.0, 1.0, 1.0], interval_s=0.01)
    grid.pv.set_watts(6900)  # 10 A on each phase
    assert (await grid.read()).current_a == pytest.approx((-3.0, -3.0, -3.0))
    grid.pv.set_watts(2300, phases=1)
    assert (await grid.read()).current_a == pytest.approx((-3.0, 7.0, 7.0))
    grid.pv.set_currents([2.0])
    assert (await grid.read()).current_a == pytest.approx((5.0, 7.0, 7.0))
    grid.pv.off()
    assert (await grid.read()).current_a == pytest.approx((7.0, 7.0, 7.0))


def test_day_curve() -> None:
    curve = DayCurve(peak_w=6000, day_s=24.0, sunrise_h=6, sunset_h=18, start_h=0, started=0.0)
    assert curve.watts(0.0) == 0.0  # midnight
    assert curve.watts(5.9) == 0.0
    assert curve.watts(12.0) == pytest.approx(6000)  # noon: one simulated hour a second
    assert 0 < curve.watts(8.0) < curve.watts(10.0) < 6000
    assert curve.watts(8.0) == pytest.approx(curve.watts(16.0))
    assert curve.watts(36.0) == pytest.approx(6000)  # the next day
    pv = PvProfile(3)
    pv.set_day({"peak_w": 6900, "day_s": 24, "sunset_h": 18, "start_h": 12}, now=100.0)
    assert pv.currents(100.0) == pytest.approx((10.0, 10.0, 10.0))


@pytest.mark.parametrize(
    "body",
    [
        [],
        {},
        {"watts": -1},
        {"watts": "1000"},
        {"watts": float("nan")},
        {"watts": 1e9},
        {"watts": 100, "currents": [1]},
        {"currents": [1, 2, 3, 4]},
        {"currents": [-1]},
        {"currents": "10"},
        {"day": {"peak_w": 1000, "day_s": 0}},
        {"day": {"peak_w": 1000, "sunrise_h": 20, "sunset_h": 6}},
        {"day": {"peak_w": 1000, "clouds": 3}},
        {"day": 7},
        {"off": False},
        {"watts": 100, "phases": 2},
        {"watts": 100, "colour": 1},
    ],
)
def test_bad_requests_change_nothing(body: Any) -> None:
    pv = PvProfile(3)
    pv.set_currents([4.0, 4.0, 4.0])
    with pytest.raises(ValueError):
        apply_request(pv, body)
    assert pv.currents() == (4.0, 4.0, 4.0)


async def test_control_route_and_cli(aiohttp_client: Any) -> None:
    grid = SimGridMeter([], interval_s=0.01)
    app = web.Application()
    add_pv_routes(app, grid.pv)
    client = await aiohttp_client(app)
    resp = await client.post("/sim/pv", json={"watts": 4600})
    assert resp.status == 200
    body = await resp.json()
    assert body["kind"] == "constant" and body["watts"] == pytest.approx(4600)
    resp = await client.post("/sim/pv", data="{")
    assert resp.status == 400 and (await resp.json())["error"] == "BadRequest"
    assert (await (await client.get("/sim/pv")).json())["watts"] == pytest.approx(4600)
    url = str(client.make_url("")).rstrip("/")
    # the CLI is a blocking urllib client: in a thread, against the running app
    for argv, kind in (
        (["pv", "day", "7000", "--day-s", "30"], "day"),
        (["pv", "10,10,10"], "constant"),
        (["pv", "off"], "off"),
    ):
        assert await asyncio.to_thread(sim_cli, ["--url", url, *argv]) == 0
        assert (await (await client.get("/sim/pv")).json())["kind"] == kind, argv
    with pytest.raises(SystemExit):
        await asyncio.to_thread(sim_cli, ["--url", url, "pv", "lots"])
