"""EnergyManager on the simulator: settings at run time, the API's calls, several connectors."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from hal.grid import TariffPeriod
from ncpa.energy.limits import GRID, TARIFF
from ncpa.energy.manager import GridModeError
from simulator.ev import EvModel
from tests.energy.sim_station import sim_station


async def test_settings_change_at_run_time(tmp_path: Path) -> None:
    async with sim_station(tmp_path, household=(4.0, 0.0, 0.0)) as rig:
        rig.plant.plug(1)
        await rig.until(lambda: rig.offered() == 20.0)
        store = rig.station.store
        await store.set_setting("grid_max_current", 32.0)
        await rig.energy.reload()
        await rig.until(lambda: rig.offered() == 27.0)  # 32 - 4 - 1
        rig.grid.set_tariff(TariffPeriod.HIGH)  # the meter's telegrams say: high tariff
        await store.set_setting("on_off_peak", "OFF_PEAK")
        await rig.energy.reload()
        await rig.until(lambda: rig.offered() == 0.0)
        assert rig.station.limits.effective(1).source == TARIFF
        await store.set_setting("on_off_peak", "ON_PEAK")
        await store.set_setting("load_shedding", "NO")
        await rig.energy.reload()
        await rig.until(lambda: rig.offered() == 32.0)  # no meter: no grid limit
        assert rig.station.limits.get(GRID, 1) is None
        assert rig.energy.explain()["loadShedding"] == "NO"


async def test_invalid_stored_setting_falls_back_to_the_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with sim_station(tmp_path) as rig:
        await rig.station.store.set_setting("grid_max_current", "lots")
        with caplog.at_level(logging.ERROR):
            await rig.energy.reload()
        assert rig.energy.grid_max_current == 25.0
        assert "energy.setting_invalid" in caplog.text


async def test_pushing_grid_currents(tmp_path: Path) -> None:
    async with sim_station(tmp_path) as rig:
        with pytest.raises(GridModeError, match="P1"):
            rig.energy.push_grid_currents([1.0])
    async with sim_station(tmp_path / "no", load_shedding="NO") as rig:
        with pytest.raises(ValueError, match="1 to 3"):
            rig.energy.push_grid_currents([])
        with pytest.raises(ValueError, match="not a number"):
            rig.energy.push_grid_currents(["3"])
        assert rig.energy.grid_currents() is None
        assert rig.energy.push_grid_currents([3, 4.5]) == [3.0, 4.5]
        assert rig.energy.grid_currents() == [3.0, 4.5]


async def test_one_off_schedule_is_anchored_and_persisted(tmp_path: Path) -> None:
    async with sim_station(tmp_path, load_shedding="NO") as rig:
        store = rig.station.store
        await store.set_setting(
            "charge_schedule", {"recurring": "none", "sections": [{"time": 0, "limit": 7}]}
        )
        await rig.energy.reload()
        stored = await store.get_setting("charge_schedule")
        assert isinstance(stored["start"], int)
        assert rig.station.limits.get("schedule") == 7.0
        await store.set_setting("charge_schedule", {"recurring": "weekly", "sections": "x"})
        await rig.energy.reload()  # a broken schedule sets no limit (and says so in the log)
        assert rig.station.limits.get("schedule") is None


async def test_explain_for_the_installer(tmp_path: Path) -> None:
    async with sim_station(tmp_path, household=(4.0, 2.0, 1.0)) as rig:
        rig.plant.plug(1)
        await rig.until(lambda: rig.drawing() == 16.0)
        await rig.measurements(2)
        out = rig.energy.explain()
        assert out["connectors"][0]["limit"] == {"amps": 20.0, "source": GRID}
        assert out["gridMaxCurrent"] == 25.0
        assert out["installationUsage"] == [4.0, 2.0, 1.0]
        assert out["gridCurrents"] == [20.0, 18.0, 17.0]
        assert out["balancer"]["mode"] == "balancing"
        assert out["balancer"]["availableCurrents"] == [20.0, 22.0, 23.0]


async def test_two_connectors_share_the_room(tmp_path: Path) -> None:
    async with sim_station(tmp_path, household=(8.0, 0.0, 0.0), connectors=2) as rig:
        rig.plant.plug(1)
        await rig.until(lambda: rig.status(1) == "Charging")
        assert rig.offered(1) == 16.0  # 25 - 8 - 1 A, one session
        rig.plant.plug(2)
        await rig.until(lambda: rig.status(2) == "Charging" and rig.offered(1) == 8.0)
        assert rig.offered(2) == 8.0
        # the house takes 6 A more: 10 A left, room for one EV; the later session waits
        rig.grid.set_household([14.0, 0.0, 0.0])
        await rig.until(lambda: rig.offered(1) == 10.0 and rig.offered(2) == 0.0)
        await rig.until(lambda: rig.status(2) == "SuspendedEVSE")
        grid = [r.current_a[0] for r in await rig.measurements(3)]
        assert max(grid) <= 25.0


async def test_single_phase_ev_is_not_held_back_by_another_phase(tmp_path: Path) -> None:
    async with sim_station(tmp_path, household=(2.0, 18.0, 0.0)) as rig:
        # before it draws, every phase counts: L2 leaves 25 - 18 - 1 = 6 A
        rig.plant.plug(1, EvModel(max_current_a=32.0, phases=1))
        await rig.until(lambda: rig.status() == "Charging" and rig.drawing() > 0)
        # drawing on L1 only: L1's room counts, 25 - 2 - 1 = 22 A
        await rig.until(lambda: rig.offered() == 22.0)


@pytest.mark.parametrize(
    "energy",
    [
        {"load_shedding": "XEMEX_BLACK", "xemex_port": "tcp://no-port"},  # cannot be built
        {"load_shedding": "P1", "p1_port": str(Path("/dev/no-such-p1-port"))},  # cannot open
    ],
)
async def test_meter_that_cannot_work_gives_the_safe_current(
    tmp_path: Path, energy: dict[str, str]
) -> None:
    async with sim_station(tmp_path, simulated_grid=False, safe_current=7.0, **energy) as rig:
        rig.plant.plug(1)
        await rig.until(lambda: rig.offered() == 7.0)
        assert rig.energy.explain(1)["balancer"]["mode"] == "fallback"


async def test_lower_fuse_rating_applies_without_waiting_for_a_push(tmp_path: Path) -> None:
    async with sim_station(tmp_path, load_shedding="NO", pushed_stale_s=60.0) as rig:
        rig.plant.plug(1)
        await rig.until(lambda: rig.drawing() == 16.0)
        rig.energy.push_grid_currents([20.0, 16.0, 16.0])  # 4 A household: 20 A offered
        await rig.until(lambda: rig.offered() == 20.0)
        await rig.station.store.set_setting("grid_max_current", 16.0)
        await rig.energy.reload()
        assert rig.station.limits.get(GRID, 1) == 11.0  # 16 - 4 - 1, before any new push


async def test_stored_on_off_peak_wins_over_the_file_at_start(tmp_path: Path) -> None:
    async with sim_station(tmp_path, load_shedding="NO") as rig:
        await rig.station.store.set_setting("on_off_peak", "OFF_PEAK")
    # the next start (same data dir) reads the stored setting before it limits anything
    async with sim_station(tmp_path, load_shedding="NO") as rig:
        assert rig.energy.tariff.mode == "OFF_PEAK"
        assert rig.station.limits.get(TARIFF, 1) == 0.0  # the sim's tariff input: high
