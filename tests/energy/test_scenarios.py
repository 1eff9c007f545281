"""Scenarios on the simulator: the charger never trips the house fuse."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ncpa.energy.limits import GRID, SCHEDULE, TARIFF
from tests.energy.sim_station import sim_station

FUSE = 25.0


async def test_household_step_is_answered_within_one_measurement(tmp_path: Path) -> None:
    async with sim_station(tmp_path, household=(4.0, 2.0, 2.0)) as rig:
        rig.plant.plug(1)
        # 25 - 4 - 1 A margin = 20 A offered; the EV takes its 16 A
        await rig.until(lambda: rig.offered() == 20.0 and rig.status() == "Charging")
        # the oven goes on: 14 A more on L1; with the EV's 16 A that is 30 A on a 25 A fuse
        rig.grid.set_household([14.0, 2.0, 2.0])
        readings = await rig.measurements(6)
        over = [r.current_a[0] > FUSE for r in readings]
        first = over.index(True) if True in over else None
        assert first is not None, "the step was measured"
        assert not any(over[first + 1 :]), "over the fuse for more than one measurement"
        assert rig.offered() == 10.0  # 25 - 14 - 1 A margin
        assert rig.station.limits.effective(1).source == GRID


async def test_pause_and_resume_at_6_amps_without_flapping(tmp_path: Path) -> None:
    async with sim_station(tmp_path, household=(2.0, 2.0, 2.0)) as rig:
        rig.plant.plug(1)
        await rig.until(lambda: rig.status() == "Charging")
        rig.grid.set_household([20.0, 2.0, 2.0])  # 4 A free: below the EV minimum
        await rig.until(lambda: rig.status() == "SuspendedEVSE")
        assert rig.offered() == 0.0
        # the room wobbles around 6 A (5.5 .. 6.5 A free): stays paused
        for n in range(12):
            rig.grid.set_household([18.5 if n % 2 else 17.5, 2.0, 2.0])
            await rig.measurements(1)
        assert rig.status() == "SuspendedEVSE"
        # 9 A free, steadily: resumes once, after the resume delay
        rig.grid.set_household([15.0, 2.0, 2.0])
        await rig.until(lambda: rig.status() == "Charging")
        assert rig.offered() == 9.0
        await rig.measurements(5)
        charging = [s for s in rig.statuses if s in ("Charging", "SuspendedEVSE")]
        assert charging == ["Charging", "SuspendedEVSE", "Charging"]


async def test_meter_lost_falls_back_to_the_safe_current(tmp_path: Path) -> None:
    async with sim_station(tmp_path, household=(2.0, 2.0, 2.0), safe_current=8.0) as rig:
        rig.plant.plug(1)
        await rig.until(lambda: rig.offered() == 22.0)
        rig.grid.set_lost(True)
        await rig.until(lambda: rig.offered() == 8.0)
        assert rig.energy.explain(1)["balancer"]["mode"] == "fallback"
        assert rig.energy.grid_currents() is None
        rig.grid.set_lost(False)
        await rig.until(lambda: rig.offered() == 22.0)
        assert rig.energy.explain(1)["balancer"]["mode"] == "balancing"


async def test_off_peak_starts_and_stops_with_the_tariff(tmp_path: Path) -> None:
    async with sim_station(tmp_path, load_shedding="NO", on_off_peak="OFF_PEAK") as rig:
        rig.plant.set_input("tariff", False)  # high tariff
        rig.plant.plug(1)
        await rig.until(lambda: rig.status() == "SuspendedEVSE")
        assert rig.station.limits.effective(1).source == TARIFF
        rig.plant.set_input("tariff", True)  # the low tariff begins
        await rig.until(lambda: rig.status() == "Charging" and rig.offered() == 32.0)
        rig.plant.set_input("tariff", False)
        await rig.until(lambda: rig.status() == "SuspendedEVSE" and rig.offered() == 0.0)


async def test_transaction_peak_session_started_low_charges_through(tmp_path: Path) -> None:
    async with sim_station(tmp_path, load_shedding="NO", on_off_peak="TRANSACTION_PEAK") as rig:
        rig.plant.set_input("tariff", True)
        rig.plant.plug(1)
        await rig.until(lambda: rig.status() == "Charging")
        rig.plant.set_input("tariff", False)  # high tariff: this session goes on
        await rig.until(lambda: rig.energy.tariff.tariff is not None)
        await rig.until(lambda: rig.energy.tariff.tariff.value == "high")  # type: ignore[union-attr]
        assert rig.station.limits.get(TARIFF, 1) is None
        assert rig.status() == "Charging"


async def test_weekly_schedule_across_dst(tmp_path: Path) -> None:
    async with sim_station(tmp_path, load_shedding="NO") as rig:
        sunday = 6 * 86400
        await rig.station.store.set_setting(
            "charge_schedule",
            {
                "recurring": "weekly",
                "sections": [{"time": 0, "limit": 16}, {"time": sunday + 7 * 3600, "limit": 8}],
            },
        )
        await rig.energy.reload()
        rig.plant.plug(1)
        # Sunday 29 March 2026, clocks go forward at 02:00: 07:00 local is 05:00 UTC
        before = datetime(2026, 3, 29, 4, 59, tzinfo=UTC).timestamp()
        after = datetime(2026, 3, 29, 5, 0, tzinfo=UTC).timestamp()
        rig.energy.schedule.apply(now=before)
        await rig.until(lambda: rig.offered() == 16.0)
        rig.energy.schedule.apply(now=after)
        await rig.until(lambda: rig.offered() == 8.0)
        explained = rig.energy.explain(1)["connectors"][0]
        assert explained["limit"] == {"amps": 8.0, "source": SCHEDULE}
        assert explained["sources"][SCHEDULE] == 8.0


async def test_pushed_grid_currents_feed_balancing_until_stale(tmp_path: Path) -> None:
    async with sim_station(tmp_path, load_shedding="NO", pushed_stale_s=0.5) as rig:
        rig.plant.plug(1)
        await rig.until(lambda: rig.drawing() == 16.0)  # the push below includes the EV's 16 A
        assert rig.energy.explain(1)["balancer"]["mode"] == "off"
        rig.energy.push_grid_currents([30.0, 16.0, 16.0])  # EV 16 A + 14 A household on L1
        await rig.until(lambda: rig.offered() == 10.0)
        assert rig.energy.installation_usage() == [14.0, 0.0, 0.0]
        await rig.until(lambda: rig.offered() == 6.0)  # stale: the safe current
