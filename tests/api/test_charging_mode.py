"""/config/charging-mode: the owner sets FAST, SOLAR or SOLAR_MIN; it acts at once through
the energy component and persists; a bad value is refused and changes nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from ncpa.api.app import ApiServer
from ncpa.energy.api_settings import ManagedEnergySettings
from ncpa.energy.manager import EnergyManager
from simulator.grid import SimGridMeter
from tests.api.conftest import Api, Charger, api_settings, write_keys

PATH = "/config/charging-mode"


async def test_operator_sets_the_mode_and_it_persists(api: Api) -> None:
    operator = await api.login("operator")
    status, body = await api.call("GET", PATH, operator)
    assert status == 200 and body["mode"] == "FAST"
    status, body = await api.call("POST", PATH, operator, params={"chargingMode": "SOLAR"})
    assert status == 200 and body["mode"] == "SOLAR"
    assert await api.charger.store.get_setting("charging_mode") == "SOLAR"
    for bad in ("TURBO", "solar", "", "FAST,SOLAR"):
        status, body = await api.call("POST", PATH, operator, params={"chargingMode": bad})
        assert status == 400 and body["error"] == "InvalidParameter", (bad, body)
    status, body = await api.call("POST", PATH, operator)  # missing
    assert status == 400
    assert (await api.call("GET", PATH, operator))[1]["mode"] == "SOLAR"
    status, _ = await api.call("GET", PATH, None)
    assert status == 401


async def test_the_mode_acts_through_the_energy_manager(charger: Charger, tmp_path: Path) -> None:
    grid = SimGridMeter([c.meter for c in charger.board.connectors], interval_s=0.05)
    energy = EnergyManager(charger.station, charger.board, charger.cfg, grid_meter=grid)
    await energy.start()
    settings = api_settings(charger, write_keys(tmp_path / "keys"))
    server = ApiServer(
        charger.station,
        settings,
        on_reboot=lambda: None,
        energy=ManagedEnergySettings(charger.store, energy),
        modes=energy.modes,
    )
    await server.start()
    api = Api(server, aiohttp.ClientSession(), settings, charger, tmp_path / "keys")
    try:
        operator = await api.login("operator")
        status, body = await api.call("POST", PATH, operator, params={"chargingMode": "SOLAR"})
        assert status == 200 and body["mode"] == "SOLAR"
        assert energy.modes.mode == "SOLAR"
        # no export on the simulated grid: SOLAR holds the charger at 0 A (source mode)
        for _ in range(100):
            status, body = await api.call("GET", "/status", operator)
            if body["limits"][0]["sources"].get("mode") == 0.0:
                break
            await asyncio.sleep(0.02)
        assert body["limits"][0]["sources"]["mode"] == 0.0
        assert body["limits"][0]["source"] == "mode"
        status, body = await api.call("GET", PATH, operator)
        assert body["state"] in ("waiting", "starting") and body["phases"] == 3
        await api.call("POST", PATH, operator, params={"chargingMode": "FAST"})
        status, body = await api.call("GET", "/status", operator)
        assert "mode" not in body["limits"][0]["sources"]
    finally:
        await api.session.close()
        await server.stop()
        await energy.stop()
