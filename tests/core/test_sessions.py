"""The charging core on the simulator, in process: sessions, cards, locks, limits."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from hal.board import Board
from ncpa.charging.authorization import Authorizer, AuthResult
from ncpa.events import TransactionStarted, TransactionStopped
from ncpa.store import Store, WhitelistEntry
from simulator.plant import FaultKind, Plant
from tests.helpers import Env, running_station


def charging(env: Env, cid: int = 1) -> bool:
    return env.status(cid) == "Charging" and env.plant.connectors[cid].contactor_cmd


async def test_plugncharge_session_meters_energy(tmp_path: Path) -> None:
    async with running_station(tmp_path, authentication_mode="PLUGNCHARGE") as env:
        assert env.status() == "Available"
        env.plant.plug(1)
        await env.wait(lambda: charging(env), what="charging")
        tx = env.station.view(1).transaction
        assert tx is not None and tx.id_tag == "LCP0001"
        start_energy = env.plant.connectors[1].energy_wh
        await env.wait(lambda: env.plant.connectors[1].energy_wh > start_energy + 1, 10)
        env.plant.unplug(1)
        await env.wait(lambda: env.status() == "Available")
        rec = await env.store.transaction(tx.id)
        assert rec is not None and rec.stop_reason == "EVDisconnected"
        assert rec.meter_stop_wh is not None and rec.meter_stop_wh > rec.meter_start_wh
        assert not env.plant.connectors[1].contactor_cmd
        assert not env.plant.connectors[1].locked
        kinds = [type(e) for e in env.events]
        assert TransactionStarted in kinds and TransactionStopped in kinds


async def test_whitelist_card_then_plug_and_rejected_card(tmp_path: Path) -> None:
    async with running_station(tmp_path) as env:
        await env.station.authorizer.add_card(WhitelistEntry("AABBCCDD", "ACCEPTED"))
        env.plant.plug(1)
        await env.wait(lambda: env.status() == "Preparing")
        assert await env.station.present_card("11223344") == "Invalid"
        assert env.status() == "Preparing" and not env.plant.connectors[1].contactor_cmd
        assert env.plant.connectors[1].offered_a == 0
        assert await env.station.present_card("aabbccdd") == "Accepted"
        await env.wait(lambda: charging(env))
        # the same card again stops the transaction: Finishing until unplugged
        await env.station.present_card("AABBCCDD")
        await env.wait(lambda: env.status() == "Finishing")
        assert not env.plant.connectors[1].contactor_cmd
        tx = (await env.store.transactions())[0]
        assert tx.stop_reason == "Local" and tx.stop_id_tag == "AABBCCDD"
        env.plant.unplug(1)
        await env.wait(lambda: env.status() == "Available")


async def test_card_before_plug_is_pending_then_starts(tmp_path: Path) -> None:
    async with running_station(tmp_path) as env:
        await env.station.authorizer.add_card(WhitelistEntry("CAFE01", "ACCEPTED"))
        await env.station.present_card("CAFE01")
        await env.wait(lambda: env.status() == "Preparing")
        env.plant.plug(1)
        await env.wait(lambda: charging(env))
        assert env.station.view(1).transaction.id_tag == "CAFE01"  # type: ignore[union-attr]


async def test_card_before_plug_on_two_connectors_starts_where_the_ev_is_plugged(
    tmp_path: Path,
) -> None:
    """A card tapped first is no promise about a connector: the first plugged takes it."""
    async with running_station(tmp_path, station={"connectors": 2}) as env:
        await env.station.authorizer.add_card(WhitelistEntry("CAFE03", "ACCEPTED"))
        await env.station.present_card("CAFE03")
        env.plant.plug(2)
        await env.wait(lambda: charging(env, 2), what="charging on 2")
        assert env.station.view(1).transaction is None


async def test_pending_authorization_waits_the_station_connection_timeout(tmp_path: Path) -> None:
    async with running_station(tmp_path) as env:
        assert env.station.connection_timeout == env.config.charging.connection_timeout
        env.station.connection_timeout = 1.0  # what OCPP ConnectionTimeOut sets
        await env.station.authorizer.add_card(WhitelistEntry("CAFE02", "ACCEPTED"))
        await env.station.present_card("CAFE02")
        await env.wait(lambda: env.status() == "Preparing")
        # the card expires unused: the connector is free again, the plug starts nothing
        await env.wait(lambda: env.status() == "Available", what="pending expired")
        env.plant.plug(1)
        await env.wait(lambda: env.status() == "Preparing")
        assert env.station.view(1).transaction is None
        assert env.station.take_pending(1) is None


async def test_local_list_disabled_decides_nothing(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    try:
        authorizer = Authorizer(store, "WHITELIST")
        await authorizer.add_card(WhitelistEntry("LISTED", "ACCEPTED"))
        assert (await authorizer.authorize("LISTED")).source == "whitelist"
        authorizer.local_list_enabled = False
        assert await authorizer.card("LISTED") is not None  # kept, still managed
        assert (await authorizer.authorize("LISTED")).status == "Invalid"
        asked: list[str] = []

        async def remote(id_tag: str) -> AuthResult | None:
            asked.append(id_tag)
            return None  # the CSMS is unreachable: still not the list

        authorizer.remote = remote
        authorizer.local_pre_authorize = False
        assert (await authorizer.authorize("LISTED")).status == "Invalid"
        assert asked == ["LISTED"]
        authorizer.local_list_enabled = True
        assert (await authorizer.authorize("LISTED")).status == "Accepted"
    finally:
        await store.close()


async def test_blocked_and_expired_cards_are_refused(tmp_path: Path) -> None:
    async with running_station(tmp_path) as env:
        await env.station.authorizer.add_card(WhitelistEntry("B10C", "BLOCKED"))
        await env.station.authorizer.add_card(WhitelistEntry("E1", "ACCEPTED", expiry_ts=1))
        env.plant.plug(1)
        assert await env.station.present_card("B10C") == "Blocked"
        assert await env.station.present_card("E1") == "Expired"
        await env.wait(lambda: env.status() == "Preparing")
        assert env.station.view(1).transaction is None


async def test_ev_pauses_and_resumes(tmp_path: Path) -> None:
    async with running_station(tmp_path, authentication_mode="PLUGNCHARGE") as env:
        env.plant.plug(1)
        await env.wait(lambda: charging(env))
        env.plant.set_ev_state(1, wants_energy=False)
        await env.wait(lambda: env.status() == "SuspendedEV")
        assert not env.plant.connectors[1].contactor_cmd
        env.plant.set_ev_state(1, wants_energy=True)
        await env.wait(lambda: charging(env))


async def test_limit_below_six_amps_suspends_evse(tmp_path: Path) -> None:
    async with running_station(tmp_path, authentication_mode="PLUGNCHARGE") as env:
        env.plant.plug(1)
        await env.wait(lambda: charging(env))
        env.station.limits.set("grid", 4.0)
        await env.wait(lambda: env.status() == "SuspendedEVSE")
        c = env.plant.connectors[1]
        assert c.offered_a == 0 and not c.contactor_cmd
        assert env.station.view(1).limit.source == "grid"


async def test_reductions_are_immediate_increases_wait(tmp_path: Path) -> None:
    async with running_station(
        tmp_path, authentication_mode="PLUGNCHARGE", pwm_min_interval=0.5
    ) as env:
        env.plant.plug(1)
        await env.wait(lambda: charging(env))
        assert env.plant.connectors[1].offered_a == 32
        env.station.limits.set("grid", 10.0)
        await env.wait(lambda: env.plant.connectors[1].offered_a == 10, 0.2, "reduction")
        env.station.limits.set("grid", 20.0)
        # an increase right after a change waits for the EV's reaction time
        await env.wait(lambda: env.plant.connectors[1].offered_a == 20, 3, "increase")
        limit = env.station.view(1).limit
        assert (limit.amps, limit.source) == (20.0, "grid")


async def test_station_max_current_is_persisted_and_a_source(tmp_path: Path) -> None:
    async with running_station(tmp_path, authentication_mode="PLUGNCHARGE") as env:
        await env.station.set_station_max_current(13)
        assert env.station.view(1).limit.source == "installer"
        with pytest.raises(ValueError):
            await env.station.set_station_max_current(99)
    async with running_station(tmp_path) as env:
        assert env.station.station_max_current == 13
        assert env.station.view(1).limit.amps == 13


async def test_remote_start_before_and_after_plug(tmp_path: Path) -> None:
    async with running_station(tmp_path) as env:
        assert await env.station.remote_start("REMOTE1", 1)
        env.plant.plug(1)
        await env.wait(lambda: charging(env))
        tx = env.station.view(1).transaction
        assert tx is not None
        assert await env.station.stop_transaction(tx.id, "Remote")
        await env.wait(lambda: env.status() == "Finishing")
        env.plant.unplug(1)
        await env.wait(lambda: env.status() == "Available")
        env.plant.plug(1)
        await env.wait(lambda: env.status() == "Preparing")
        assert await env.station.remote_start("REMOTE2")
        await env.wait(lambda: charging(env))
        assert not await env.station.remote_start("REMOTE3", 1)  # occupied
        assert not await env.station.remote_start("REMOTE3", 7)  # no such connector


async def test_transaction_lock_mode_holds_cable_until_authorized_release(tmp_path: Path) -> None:
    async with running_station(tmp_path, lock_mode="TRANSACTION") as env:
        await env.station.authorizer.add_card(WhitelistEntry("0WNER", "ACCEPTED"))
        env.plant.plug(1)
        await env.station.present_card("0WNER")
        await env.wait(lambda: charging(env))
        env.plant.unplug(1)
        await env.wait(lambda: env.status() == "Finishing")
        assert env.plant.connectors[1].locked  # anti-theft: the cable stays
        await env.station.present_card("STRANGER")  # someone else cannot take it
        assert env.plant.connectors[1].locked
        await env.station.present_card("0WNER")
        await env.wait(lambda: not env.plant.connectors[1].locked and env.status() == "Available")


async def test_locked_mode_and_unlock_command(tmp_path: Path) -> None:
    async with running_station(tmp_path, lock_mode="LOCKED") as env:
        await env.wait(lambda: env.plant.connectors[1].locked, what="always locked")
        assert await env.station.unlock(1) == "Unlocked"
        assert not env.plant.connectors[1].locked


async def test_unlock_stops_transaction(tmp_path: Path) -> None:
    async with running_station(tmp_path, authentication_mode="PLUGNCHARGE") as env:
        env.plant.plug(1)
        await env.wait(lambda: charging(env))
        assert await env.station.unlock(1) == "Unlocked"
        assert not env.plant.connectors[1].contactor_cmd
        tx = (await env.store.transactions())[0]
        assert tx.stop_reason == "UnlockCommand"


async def test_tethered_cable_needs_no_lock(tmp_path: Path) -> None:
    async with running_station(
        tmp_path, station={"has_lock": False}, authentication_mode="PLUGNCHARGE"
    ) as env:
        env.plant.plug(1)
        await env.wait(lambda: charging(env))
        assert env.station.view(1).locked is None
        assert await env.station.unlock(1) == "NotSupported"


@pytest.mark.parametrize(
    "kind,code",
    [
        (FaultKind.RCD, "GroundFailure"),
        (FaultKind.METER_TIMEOUT, "PowerMeterFailure"),
        (FaultKind.EVCC_LINK_LOST, "InternalError"),
    ],
)
async def test_fault_opens_contactor_and_recovers(
    tmp_path: Path, kind: FaultKind, code: str
) -> None:
    async with running_station(tmp_path, authentication_mode="PLUGNCHARGE") as env:
        env.plant.plug(1)
        await env.wait(lambda: charging(env))
        env.plant.set_fault(kind, True)
        await env.wait(lambda: env.status() == "Faulted", what="Faulted")
        assert not env.plant.connectors[1].contactor_cmd
        assert env.station.view(1).error_code == code
        env.plant.set_fault(kind, False)
        await env.wait(lambda: charging(env), what="charging again")


async def test_lock_failure_faults_before_power(tmp_path: Path) -> None:
    async with running_station(tmp_path, authentication_mode="PLUGNCHARGE") as env:
        env.plant.set_fault(FaultKind.LOCK_FAILURE, True)
        env.plant.plug(1)
        await env.wait(lambda: env.status() == "Faulted")
        c = env.plant.connectors[1]
        assert not c.contactor_cmd and c.offered_a == 0
        assert env.station.view(1).error_code == "ConnectorLockFailure"


async def test_welded_contactor_trips_shunt(tmp_path: Path) -> None:
    async with running_station(tmp_path, authentication_mode="PLUGNCHARGE") as env:
        env.plant.plug(1)
        await env.wait(lambda: charging(env))
        env.plant.set_fault(FaultKind.WELDED_CONTACTOR, True)
        env.plant.set_ev_state(1, wants_energy=False)  # the core opens; the contact stays shut
        await env.wait(lambda: env.status() == "Faulted")
        assert env.station.view(1).error_code == "PowerSwitchFailure"
        await env.wait(lambda: not env.plant.breaker_closed, what="shunt trip")
        assert not env.plant.connectors[1].contactor_cmd


async def test_inoperative_is_scheduled_during_a_transaction(tmp_path: Path) -> None:
    async with running_station(tmp_path, authentication_mode="PLUGNCHARGE") as env:
        env.plant.plug(1)
        await env.wait(lambda: charging(env))
        assert await env.station.set_operative(1, False) == "Scheduled"
        assert env.status() == "Charging"
        env.plant.unplug(1)
        await env.wait(lambda: env.status() == "Unavailable")
        env.plant.plug(1)
        await env.wait(lambda: env.conn().pilot == "B")
        assert env.station.view(1).transaction is None  # no session while inoperative
    async with running_station(tmp_path) as env:  # persisted across restarts
        assert env.status() == "Unavailable"
        assert await env.station.set_operative(0, True) == "Accepted"
        assert env.status() == "Available"


async def test_reservation_holds_connector_for_its_card(tmp_path: Path) -> None:
    async with running_station(tmp_path, authentication_mode="PLUGNCHARGE") as env:
        for tag in ("RESV", "SOMEONE"):
            await env.station.authorizer.add_card(WhitelistEntry(tag, "ACCEPTED"))
        assert await env.station.reserve(5, 1, "RESV", expiry_ts=9e9) == "Accepted"
        await env.wait(lambda: env.status() == "Reserved")
        env.plant.plug(1)
        await env.wait(lambda: env.conn().pilot == "B")
        assert env.station.view(1).transaction is None  # plug-and-charge does not take it
        await env.station.present_card("SOMEONE")
        assert env.station.view(1).transaction is None
        await env.station.present_card("RESV")
        await env.wait(lambda: charging(env))
        started = [e for e in env.events if isinstance(e, TransactionStarted)]
        assert started[-1].reservation_id == 5
        assert await env.station.cancel_reservation(5) is False


async def test_learn_card_captures_the_next_card(tmp_path: Path) -> None:
    import asyncio

    async with running_station(tmp_path) as env:
        learner = asyncio.create_task(env.station.learn_card(2.0))
        await asyncio.sleep(0.01)
        env.plant.present_card("NEWCARD")
        assert await learner == "NEWCARD"
        assert env.station.view(1).transaction is None
        assert await env.station.learn_card(0.05) is None


async def test_multi_connector(tmp_path: Path) -> None:
    async with running_station(
        tmp_path, station={"connectors": 2}, authentication_mode="PLUGNCHARGE"
    ) as env:
        env.plant.plug(2)
        await env.wait(lambda: charging(env, 2))
        assert env.status(1) == "Available"
        env.plant.plug(1)
        await env.wait(lambda: charging(env, 1))
        ids = {env.station.view(c).transaction.id for c in (1, 2)}  # type: ignore[union-attr]
        assert len(ids) == 2


async def _crashed_session(tmp_path: Path) -> tuple[Plant, int]:
    """A store with an open transaction and a plant where the EV still draws: a crash."""
    store = await Store.open(tmp_path)
    tx = await store.open_transaction(1, "LCP0001", 1000.0, time.time() - 60)
    await store.record_meter(tx.id, 1234.5, time.time() - 5)
    await store.close()
    plant = Plant(1, 3)
    plant.plug(1)
    plant.connectors[1].energy_wh = 1240.0
    plant.set_offer(1, 16)
    plant.set_contactor(1, True)
    return plant, tx.id


async def test_recovery_closes_open_transaction_with_power_loss(tmp_path: Path) -> None:
    plant, tx_id = await _crashed_session(tmp_path)
    async with running_station(tmp_path, plant=plant) as env:
        rec = await env.store.transaction(tx_id)
        assert rec is not None and rec.stop_reason == "PowerLoss"
        assert rec.meter_stop_wh == 1234.5  # the last durable reading
        assert not plant.connectors[1].contactor_cmd or env.station.view(1).transaction


async def test_recovery_resumes_when_configured(tmp_path: Path) -> None:
    plant, tx_id = await _crashed_session(tmp_path)
    async with running_station(tmp_path, plant=plant, recovery="resume") as env:
        await env.wait(lambda: charging(env))
        tx = env.station.view(1).transaction
        assert tx is not None and tx.id == tx_id
        assert len(await env.store.open_transactions()) == 1


class _BrokenLock:
    """A lock driver that fails in a way no driver should: the core must stay safe."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.broken = False

    async def set_locked(self, locked: bool) -> bool:
        if self.broken:
            raise RuntimeError("driver bug")
        result: bool = await self.inner.set_locked(locked)
        return result

    async def feedback_locked(self) -> bool:
        result: bool = await self.inner.feedback_locked()
        return result


async def test_unexpected_driver_error_leaves_connector_safe(tmp_path: Path) -> None:
    locks: list[_BrokenLock] = []

    def hook(board: Board) -> None:
        lock = _BrokenLock(board.connectors[0].lock)
        locks.append(lock)
        board.connectors[0].lock = lock

    async with running_station(tmp_path, board_hook=hook, authentication_mode="PLUGNCHARGE") as env:
        env.plant.plug(1)
        await env.wait(lambda: charging(env))
        locks[0].broken = True
        env.plant.set_ev_state(1, wants_energy=False)
        await env.station.stop_connector(1, "Remote")  # the lock must now move: it raises
        await env.wait(lambda: env.status() == "Faulted")
        c = env.plant.connectors[1]
        assert not c.contactor_cmd and c.offered_a == 0
        assert env.station.view(1).error_code == "InternalError"
        locks[0].broken = False
        env.plant.unplug(1)
        await env.wait(lambda: env.status() == "Available", what="a fresh start")


async def test_rcd_fault_input_faults_every_connector(tmp_path: Path) -> None:
    async with running_station(
        tmp_path, station={"connectors": 2}, authentication_mode="PLUGNCHARGE"
    ) as env:
        env.plant.plug(1)
        await env.wait(lambda: charging(env))
        env.plant.set_input("rcd_fault", True)
        await env.wait(lambda: env.status(1) == "Faulted" and env.status(2) == "Faulted")
        assert not env.plant.connectors[1].contactor_cmd
        env.plant.set_input("rcd_fault", False)
        await env.wait(lambda: charging(env) and env.status(2) == "Available")


async def test_shunt_trip_faults_every_connector_until_power_returns(tmp_path: Path) -> None:
    async with running_station(
        tmp_path, station={"connectors": 2}, authentication_mode="PLUGNCHARGE"
    ) as env:
        env.plant.plug(2)
        await env.wait(lambda: charging(env, 2))
        env.plant.set_fault(FaultKind.WELDED_CONTACTOR, True, cid=1)  # welded, no EV on it
        await env.wait(lambda: not env.plant.breaker_closed, what="shunt trip")
        await env.wait(lambda: env.status(2) == "Faulted" and env.status(1) == "Faulted")
        assert env.station.view(2).error_code == "UnderVoltage"
        # the view shows the fault as soon as it is set; the evaluation that opens the
        # contactor runs next (the breaker is open already): wait for it, bounded
        await env.wait(lambda: not env.plant.connectors[2].contactor_cmd, what="2 opened")
        # the breaker is closed again while connector 1 is still welded: it trips again
        env.plant.set_breaker(True)
        await env.wait(lambda: not env.plant.breaker_closed, what="second trip")
        # repaired, then power back: connector 2 charges again, connector 1 is free
        env.plant.set_fault(FaultKind.WELDED_CONTACTOR, False, cid=1)
        env.plant.set_breaker(True)
        await env.wait(lambda: charging(env, 2) and env.status(1) == "Available")


async def test_installer_shunt_test_stops_sessions_and_waits_for_power(tmp_path: Path) -> None:
    async with running_station(tmp_path, authentication_mode="PLUGNCHARGE") as env:
        env.plant.plug(1)
        await env.wait(lambda: charging(env))
        assert await env.station.fire_shunt() is True
        assert not env.plant.breaker_closed and not env.plant.connectors[1].contactor_cmd
        assert (await env.store.transactions())[0].stop_reason == "EmergencyStop"
        await env.wait(lambda: env.status() == "Faulted")
        env.plant.set_breaker(True)
        await env.wait(lambda: env.status() == "Finishing")  # same EV, its session ended


async def test_remote_id_reaches_the_open_session(tmp_path: Path) -> None:
    async with running_station(tmp_path, authentication_mode="PLUGNCHARGE") as env:
        env.plant.plug(1)
        await env.wait(lambda: charging(env))
        tx = env.station.view(1).transaction
        assert tx is not None and tx.remote_id is None
        await env.station.set_remote_id(tx.id, "1234")
        live = env.station.view(1).transaction
        assert live is not None and live.remote_id == "1234"
        stored = await env.store.transaction(tx.id)
        assert stored is not None and stored.remote_id == "1234"
