"""CsmsLimitSource on a real ChargingStation and the simulator: profile changes reach the pilot."""

from __future__ import annotations

import time
from pathlib import Path

from hal.meter import MeterReading
from ncpa.energy.csms_limit import mains_voltage
from ncpa.events import LimitChanged
from tests.energy.profile_helpers import profile, station_max, tx_profile
from tests.energy.profiles_sim_station import sim_station, wait_until


def _reading(*volts: float) -> MeterReading:
    return MeterReading(volts, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), 0.0, 0.0)  # type: ignore[arg-type]


def test_mains_voltage_from_the_live_phases() -> None:
    assert mains_voltage(None) == 230
    assert mains_voltage(_reading(0, 0, 0)) == 230  # dead outlet: nominal
    assert mains_voltage(_reading(240, 0, 0)) == 240  # one phase wired
    assert mains_voltage(_reading(228, 232, 236)) == 232


async def test_profile_changes_move_the_offer_on_the_pilot(tmp_path: Path) -> None:
    async with sim_station(tmp_path) as env:
        env.plant.plug(1)
        await wait_until(env.charging, "charging")
        assert env.offered() == 32  # hardware and installer limits only
        now = time.time()
        # a TxDefaultProfile for every connector
        await env.profiles.install(
            profile(100, [(0, 10)], connector_id=0, stack_level=1, start=now), {}
        )
        env.source.refresh()
        await wait_until(lambda: env.offered() == 10, "TxDefault 10 A on the pilot")
        view = env.station.view(1)
        assert (view.limit.amps, view.limit.source) == (10, "csms")
        # a TxProfile for the running transaction, in W: 4140 W / (230 V x 3) = 6 A
        tx = env.source.open_transactions
        assert list(tx) == [1] and tx[1][0] == view.transaction.id  # type: ignore[union-attr]
        await env.profiles.install(tx_profile(7, [(0, 4140)], unit="W", start=now), tx)
        env.source.refresh()
        await wait_until(lambda: env.offered() == 6, "TxProfile 6 A on the pilot")
        # the station maximum caps the TxDefault once the TxProfile is cleared
        await env.profiles.install(station_max(1, [(0, 8)], start=now), {})
        assert await env.profiles.clear(id=7)
        env.source.refresh()
        await wait_until(lambda: env.offered() == 8, "ChargePointMax 8 A on the pilot")
        assert await env.profiles.clear()
        env.source.refresh()
        await wait_until(lambda: env.offered() == 32, "no profile: 32 A again")
        assert env.station.limits.get("csms", 1) is None


async def test_tx_profile_is_dropped_when_the_transaction_stops(tmp_path: Path) -> None:
    async with sim_station(tmp_path) as env:
        await env.profiles.install(profile(1, [(0, 16)], start=time.time()), {})
        env.source.refresh()
        env.plant.plug(1)
        await wait_until(env.charging, "charging")
        await wait_until(lambda: env.offered() == 16, "TxDefault 16 A")
        await env.profiles.install(
            tx_profile(2, [(0, 12)], kind="Relative"), env.source.open_transactions
        )
        env.source.refresh()
        await wait_until(lambda: env.offered() == 12, "TxProfile 12 A")
        env.plant.unplug(1)
        await wait_until(lambda: [p.id for p in env.profiles.profiles] == [1], "TxProfile dropped")
        assert env.station.limits.get("csms", 1) == 16
        assert env.source.open_transactions == {}


async def test_relative_tx_default_starts_with_the_transaction(tmp_path: Path) -> None:
    async with sim_station(tmp_path) as env:
        # 8 A for the first 3600 s of every transaction, 16 A after
        await env.profiles.install(profile(1, [(0, 8), (3600, 16)], kind="Relative"), {})
        env.source.refresh()
        env.plant.plug(1)
        await wait_until(env.charging, "charging")
        await wait_until(lambda: env.offered() == 8, "first period")
        tx_start = env.station.view(1).transaction.start_ts  # type: ignore[union-attr]
        assert env.source.next_change() == tx_start + 3600


async def test_the_timer_follows_schedule_periods(tmp_path: Path) -> None:
    async with sim_station(tmp_path) as env:
        env.plant.plug(1)
        await wait_until(env.charging, "charging")
        start = time.time()
        await env.profiles.install(profile(1, [(0, 10), (1, 7)], start=start, duration=2), {})
        env.source.refresh()  # nothing else is called: the timer does the rest
        await wait_until(lambda: env.offered() == 10, "first period")
        await wait_until(lambda: env.offered() == 7, "second period, 1 s later")
        assert time.time() >= start + 1
        await wait_until(lambda: env.offered() == 32, "end of the schedule, 2 s later")
        assert time.time() >= start + 2


async def test_two_charging_connectors_share_the_station_max(tmp_path: Path) -> None:
    async with sim_station(tmp_path, connectors=2) as env:
        await env.profiles.install(station_max(1, [(0, 20)], start=time.time()), {})
        env.source.refresh()
        env.plant.plug(1)
        await wait_until(env.charging, "connector 1 charging")
        await wait_until(lambda: env.offered(1) == 20, "the whole 20 A")
        env.plant.plug(2)
        await wait_until(lambda: env.charging(2), "connector 2 charging")
        await wait_until(lambda: env.offered(1) == env.offered(2) == 10, "10 A each")
        env.plant.unplug(2)
        await wait_until(lambda: env.offered(1) == 20, "the whole 20 A again")


async def test_start_drops_tx_profiles_of_closed_transactions_and_stop_clears(
    tmp_path: Path,
) -> None:
    async with sim_station(tmp_path) as env:
        await env.profiles.install(tx_profile(5, [(0, 6)]), {1: (999, time.time())})
        await env.profiles.install(profile(6, [(0, 9)], start=time.time()), {})
        await env.source.stop()
        assert env.station.limits.get("csms", 1) is None
        events: list[object] = []
        env.station.bus.subscribe(events.append, LimitChanged)
        await env.source.start()  # transaction 999 is not open
        assert [p.id for p in env.profiles.profiles] == [6]
        assert env.station.limits.get("csms", 1) == 9
        assert LimitChanged(1, 9, "csms") in events
