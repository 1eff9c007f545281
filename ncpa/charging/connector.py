"""One connector's controller: it owns the session and commands the connector's hardware.

Every change (pilot, fault, card, command, limit, timer) takes the connector's
lock and runs `_evaluate()`, which derives what the hardware should do from the
state and applies it in a safe order: open the contactor first, then lock and
PWM, close the contactor last. The rules for the contactor are in
`interlock.py`; this module only feeds them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hal.board import ConnectorDevices
from hal.errors import DeviceError
from hal.evcc import MIN_OFFER_A, EvccFault, EvccStatus, PilotState
from hal.meter import MeterReading
from ncpa import clock
from ncpa.charging import interlock
from ncpa.charging.pwm_policy import PwmPolicy
from ncpa.charging.reservation import Reservation
from ncpa.charging.states import ConnectorStatus, Fault, LockMode, StopReason, error_code
from ncpa.energy.limits import Limit
from ncpa.events import (
    FaultChanged,
    MeterSample,
    ReservationEnded,
    SafetyAction,
    StatusChanged,
    TransactionAuthorized,
    TransactionDeauthorized,
    TransactionEvConnected,
    TransactionStarted,
    TransactionStopped,
)
from ncpa.log import get_logger
from ncpa.store import TransactionRecord

if TYPE_CHECKING:
    from ncpa.charging.station import ChargingStation

log = get_logger(__name__)

PLUGGED = frozenset({PilotState.B, PilotState.C, PilotState.D})
_EVCC_FAULTS = {
    EvccFault.RCD: Fault.RCD,
    EvccFault.LINK_LOST: Fault.EVCC_LINK_LOST,
    EvccFault.DIODE: Fault.PILOT_FAULT,
    EvccFault.OTHER: Fault.EVCC_OTHER,
}
LOCK_RETRY_S = 5.0
UNLOCK_WINDOW_S = 30.0  # LOCKED mode: how long an unlock command releases the cable
MAINS_PRESENT_V = 100.0  # a phase above this: the breaker is closed again


@dataclass
class Session:
    id_tag: str  # "" while a transaction opened at plug-in waits for its authorization
    parent_id_tag: str | None = None
    transaction: TransactionRecord | None = None
    ended: bool = False  # the transaction stopped; waiting for the EV to unplug
    reservation_id: int | None = None
    # False: begun at the authorization (tx_points.start_on_authorize), the EV not there
    # yet; it must come before `connect_deadline` (monotonic)
    connected: bool = True
    connect_deadline: float = 0.0

    @property
    def deauthorized(self) -> bool:
        """Stopped, yet its transaction runs on until the EV unplugs (tx_points): the stop's
        reason is on the open record."""
        return self.transaction is not None and self.transaction.stop_reason is not None

    @property
    def authorized(self) -> bool:
        """Its authorization is in force: it has one (not a transaction begun at plug-in
        that waits for it) and no stop has taken it back."""
        return bool(self.id_tag) and not self.deauthorized


@dataclass(frozen=True)
class ConnectorView:
    connector_id: int
    status: str
    error_code: str
    operative: bool
    pilot: str
    contactor_closed: bool
    locked: bool | None
    offered_a: float
    limit: Limit
    faults: frozenset[str]
    transaction: TransactionRecord | None
    last_reading: MeterReading | None
    # time.time() of the last contactor switch or offer change: a meter reading older than
    # this does not show what the EV draws now
    draw_changed_ts: float = 0.0

    @property
    def tx_authorized(self) -> bool:
        """The open transaction's authorization is in force (not one begun at plug-in that
        waits for it, nor one stopped that waits for the EV to go; tx_points.py)."""
        tx = self.transaction
        return tx is not None and bool(tx.id_tag) and tx.stop_reason is None

    @property
    def awaits_authorization(self) -> bool:
        """No transaction, or one begun at plug-in that an authorization would power."""
        return self.transaction is None or not self.transaction.id_tag


class Connector:
    def __init__(self, station: ChargingStation, devices: ConnectorDevices) -> None:
        self.station = station
        self.dev = devices
        self.cid = devices.connector_id
        cfg = station.config.charging
        self._cfg = cfg
        self.pilot = PilotState.A
        self._evcc_faults: frozenset[Fault] = frozenset()
        self._own_faults: set[Fault] = set()
        self.session: Session | None = None
        self.reservation: Reservation | None = None
        self.operative = True
        # out of service for now, not across restarts (a Reset OnIdle waiting for the
        # other connectors' transactions): no new session, reported Unavailable
        self.held = False
        self._inoperative_pending = False
        self.contactor_closed = False  # what we commanded
        self._contactor_changed = time.monotonic()
        self._draw_changed_ts = 0.0
        self._lock_cmd: bool | None = None
        self.lock_confirmed = False
        self._lock_retry_at = 0.0
        self._awaiting_release: str | None = None  # TRANSACTION mode: id tag that may release
        self._unlock_until = 0.0
        self.pwm = PwmPolicy(cfg.pwm_min_interval)
        self.last_reading: MeterReading | None = None
        self._last_checkpoint = 0.0
        self._status: tuple[ConnectorStatus, str] | None = None
        self._mutex = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._first_status = asyncio.Event()
        self._running = False  # evaluation starts after recovery

    # -- lifecycle -------------------------------------------------------------

    async def start_inputs(self) -> None:
        """Start reading the controller and meter; wait (briefly) for the first pilot state."""
        self._tasks.append(asyncio.create_task(self._evcc_loop(), name=f"evcc-{self.cid}"))
        self._tasks.append(asyncio.create_task(self._meter_loop(), name=f"meter-{self.cid}"))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(3.0):
                await self._first_status.wait()
        if not self._first_status.is_set():
            self._evcc_faults = frozenset({Fault.EVCC_LINK_LOST})

    async def run(self) -> None:
        """Start controlling: the first evaluation sets the hardware to a safe state."""
        self._running = True
        # whatever the hardware was left in, start from "open, no offer"
        await self._command_contactor(False)
        await self._command_offer(0.0)
        async with self._mutex:
            await self._evaluate()
        self._tasks.append(asyncio.create_task(self._tick_loop(), name=f"tick-{self.cid}"))

    async def shutdown(self, reason: StopReason) -> None:
        async with self._mutex:
            if self._tx is not None:
                await self._stop_tx(reason)
            self._running = False
            await self._command_contactor(False)
            await self._command_offer(0.0)
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            # bounded: a driver that ignores cancellation must not hang the shutdown
            await asyncio.wait(self._tasks, timeout=2.0)
        self._tasks.clear()

    # -- state ----------------------------------------------------------------

    @property
    def faults(self) -> frozenset[Fault]:
        return self._evcc_faults | frozenset(self._own_faults)

    @property
    def _tx(self) -> TransactionRecord | None:
        return self.session.transaction if self.session else None

    @property
    def plugged(self) -> bool:
        return self.pilot in PLUGGED

    def view(self) -> ConnectorView:
        status, code = self._compute_status()
        return ConnectorView(
            connector_id=self.cid,
            status=str(status),
            error_code=code,
            operative=self.operative,
            pilot=str(self.pilot),
            contactor_closed=self.contactor_closed,
            locked=None if self.dev.lock is None else self.lock_confirmed,
            offered_a=self.pwm.current_a,
            limit=self.station.limits.effective(self.cid),
            faults=frozenset(str(f) for f in self.faults),
            transaction=self._tx,
            last_reading=self.last_reading,
            draw_changed_ts=self._draw_changed_ts,
        )

    @property
    def cable_held_for(self) -> str | None:
        """TRANSACTION lock mode: the id tag whose authorized stop releases the cable."""
        return self._awaiting_release

    def accepts_session(self) -> bool:
        """Free for a new session (or for the authorization of a transaction opened at
        plug-in): operative, no fault, no other session, no cable held."""
        return (
            self.operative
            and not self.held
            and not self.faults
            and (self.session is None or self.awaiting_authorization)
            and self._awaiting_release is None
        )

    # -- commands (from the station) --------------------------------------------

    @property
    def reservation_key(self) -> str:
        """The store setting that keeps the reservation across restarts."""
        return f"connector.{self.cid}.reservation"

    async def hold_reservation(self, res: Reservation) -> None:
        self.reservation = res
        await self.station.store.set_setting(self.reservation_key, dataclasses.asdict(res))

    async def end_reservation(self, reason: str) -> None:
        """The reservation is over (ReservationEnded names why); nothing when there is none."""
        res = self.reservation
        if res is None:
            return
        self.reservation = None
        await self.station.store.set_setting(self.reservation_key, None)
        log.info("reservation.ended", connector=self.cid, id=res.reservation_id, reason=reason)
        self.station.bus.publish(ReservationEnded(self.cid, res.reservation_id, reason))

    async def begin_session(
        self,
        id_tag: str,
        parent_id_tag: str | None,
        reservation_id: int | None = None,
        before_plug: bool = False,
    ) -> bool:
        """An authorized session; `before_plug` (tx_points.start_on_authorize): its
        transaction opens now and the EV has the connection timeout to come."""
        async with self._mutex:
            if not self.accepts_session() or not (self.plugged or before_plug):
                return False
            if self.awaiting_authorization:
                await self._authorize(id_tag, parent_id_tag)
            else:
                self.session = Session(
                    id_tag,
                    parent_id_tag,
                    reservation_id=reservation_id,
                    connected=self.plugged,
                    connect_deadline=time.monotonic() + self.station.connection_timeout,
                )
            if reservation_id is not None:
                await self.end_reservation("used")
            await self._evaluate()
            return True

    async def _authorize(self, id_tag: str, parent_id_tag: str | None) -> None:
        """The authorization of a transaction opened at plug-in: on disk, then power."""
        s = self.session
        assert s is not None and s.transaction is not None
        await self.station.store.set_id_tag(s.transaction.id, id_tag)
        s.id_tag, s.parent_id_tag = id_tag, parent_id_tag
        s.transaction = dataclasses.replace(s.transaction, id_tag=id_tag)
        log.info("transaction.authorized", connector=self.cid, id=s.transaction.id, id_tag=id_tag)
        self.station.bus.publish(
            TransactionAuthorized(self.cid, s.transaction.id, id_tag, clock.now())
        )

    async def stop(self, reason: StopReason, id_tag: str | None = None) -> bool:
        """End the transaction; or, with tx_points.stop_on_deauthorize off and the EV still
        connected, only its authorization (a stop by card, CSMS or API)."""
        async with self._mutex:
            s = self.session
            if s is None or s.transaction is None:
                return False
            deauthorizing = reason in (
                StopReason.LOCAL,
                StopReason.REMOTE,
                StopReason.DE_AUTHORIZED,
            )
            if s.deauthorized and deauthorizing:
                return True  # already stopped: it ends when the EV unplugs
            if (
                deauthorizing
                and self.plugged
                and s.authorized
                and not self.station.tx_points.stop_on_deauthorize
            ):
                await self._deauthorize(reason, id_tag)
            else:
                await self._stop_tx(reason, id_tag)
            await self._evaluate()
            return True

    async def _deauthorize(self, reason: StopReason, id_tag: str | None) -> None:
        s = self.session
        assert s is not None and s.transaction is not None
        if self.contactor_closed:
            await self._command_contactor(False)
        # durable: a crash from here on closes the transaction with this reason (recovery)
        await self.station.store.note_stopping(s.transaction.id, str(reason), id_tag)
        s.transaction = dataclasses.replace(  # the record's stop reason deauthorizes it
            s.transaction, stop_reason=str(reason), stop_id_tag=id_tag
        )
        log.info(
            "transaction.deauthorized", connector=self.cid, id=s.transaction.id, reason=str(reason)
        )
        self.station.bus.publish(
            TransactionDeauthorized(self.cid, s.transaction.id, str(reason), id_tag, clock.now())
        )

    async def release(self) -> bool:
        """An authorized release of a cable held after the EV unplugged (TRANSACTION mode)."""
        async with self._mutex:
            if self._awaiting_release is None:
                return False
            self._awaiting_release = None
            await self._evaluate()
            return True

    async def unlock(self) -> str:
        if self.dev.lock is None:
            return "NotSupported"
        async with self._mutex:
            if self._tx is not None:
                await self._stop_tx(StopReason.UNLOCK_COMMAND)
            self._awaiting_release = None
            if self.station.lock_mode == LockMode.LOCKED:
                self._unlock_until = time.monotonic() + UNLOCK_WINDOW_S
            self._set_faults(remove=Fault.LOCK_FAILURE)
            self._lock_retry_at = 0.0  # an explicit command: try the motor now
            await self._evaluate()
            return "UnlockFailed" if self.lock_confirmed else "Unlocked"

    async def set_operative(self, operative: bool) -> str:
        async with self._mutex:
            if not operative and self._tx is not None:
                self._inoperative_pending = True
                return "Scheduled"
            self._inoperative_pending = False
            self.operative = operative
            await self._evaluate()
            return "Accepted"

    async def hold(self, on: bool) -> None:
        """Out of service for now (not kept across a restart), or back; a transaction
        running keeps running."""
        async with self._mutex:
            self.held = on
            await self._evaluate()

    async def switch_phases(self, phases: int) -> bool:
        """Switch the phase count (1 or 3); False while the interlock does not allow it
        (contactor closed, or an offer in force) or without a phase switch."""
        switch = self.dev.phase_switch
        if switch is None:
            return False
        async with self._mutex:  # nothing closes the contactor during the switch
            try:
                feedback = await self.dev.contactor.feedback_closed()
            except DeviceError as e:
                log.error("phase_switch.no_feedback", connector=self.cid, error=str(e))
                return False  # the contact's state unknown: as if closed
            if not interlock.may_switch_phases(self.contactor_closed, self.pwm.current_a, feedback):
                return False
            if switch.phases != phases:
                try:
                    await switch.set_phases(phases)
                except DeviceError as e:
                    log.error("phase_switch.failed", connector=self.cid, error=str(e))
                    return False
                log.info("phase_switch", connector=self.cid, phases=phases)
            await self._evaluate()
            return True

    def note_remote_id(self, transaction_id: int, remote_id: str) -> None:
        tx = self._tx
        if tx is not None and tx.id == transaction_id and self.session is not None:
            self.session.transaction = dataclasses.replace(tx, remote_id=remote_id)

    async def set_input_fault(self, fault: Fault, active: bool) -> None:
        """A fault signalled by a wired input (e.g. an external RCD's fault contact)."""
        async with self._mutex:
            if active:
                self._set_faults(add=fault)
            else:
                self._set_faults(remove=fault)
            if self._running:
                await self._evaluate()

    async def reevaluate(self) -> None:
        if not self._running:
            return
        async with self._mutex:
            await self._evaluate()

    async def resume(self, tx: TransactionRecord) -> None:
        """Carry on with a transaction found open at start (recovery mode 'resume'); one
        opened at plug-in and not authorized yet waits for its authorization again."""
        async with self._mutex:
            self.session = Session(tx.id_tag, None, transaction=tx)

    # -- input loops -----------------------------------------------------------

    async def _evcc_loop(self) -> None:
        while True:
            try:
                async for status in self.dev.evcc.status_updates():
                    await self._on_evcc(status)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the stream died: treat as a lost link, then retry
                log.warning("evcc.stream_failed", connector=self.cid, error=str(e))
                await self._on_evcc(EvccStatus(self.pilot, frozenset({EvccFault.LINK_LOST})))
            await asyncio.sleep(1.0)

    async def _on_evcc(self, status: EvccStatus) -> None:
        faults = {_EVCC_FAULTS[f] for f in status.faults}
        if status.pilot in (PilotState.E, PilotState.F):
            faults.add(Fault.PILOT_FAULT)
        async with self._mutex:
            if status.pilot != self.pilot:
                log.info("pilot", connector=self.cid, state=str(status.pilot), was=str(self.pilot))
            # with the link lost the pilot is unknown: keep the last known one
            if EvccFault.LINK_LOST not in status.faults:
                self.pilot = status.pilot
            self._set_faults(evcc=frozenset(faults))
            self._first_status.set()
            if self._running:
                await self._evaluate()

    async def _meter_loop(self) -> None:
        while True:
            try:
                await self._meter_step()
            except Exception:  # a failed checkpoint write must not stop the metering
                log.exception("meter.loop_failed", connector=self.cid)
            await asyncio.sleep(self._cfg.meter_interval)

    async def _meter_step(self) -> None:
        cfg = self._cfg
        had_fault = Fault.METER_FAILURE in self._own_faults
        reading = await self._read_meter(cfg.meter_timeout)
        if had_fault != (Fault.METER_FAILURE in self._own_faults):
            await self.reevaluate()
        if reading is None:
            return
        if Fault.POWER_LOST in self._own_faults and max(reading.voltage_v) >= MAINS_PRESENT_V:
            log.info("power.back", connector=self.cid, voltage=max(reading.voltage_v))
            self._set_faults(remove=Fault.POWER_LOST)
            await self.reevaluate()
        tx = self._tx
        if tx is not None and self.session is not None:
            # live progress in memory; on disk every durable_meter_interval
            tx = dataclasses.replace(
                tx, last_meter_wh=reading.energy_wh, last_meter_ts=reading.timestamp
            )
            self.session.transaction = tx
        self.station.bus.publish(
            MeterSample(self.cid, reading, tx.id if tx else None, self.pwm.current_a)
        )
        if tx is not None and reading.timestamp - self._last_checkpoint >= (
            cfg.durable_meter_interval
        ):
            self._last_checkpoint = reading.timestamp
            await self.station.store.record_meter(tx.id, reading.energy_wh, reading.timestamp)

    async def _read_meter(self, timeout: float) -> MeterReading | None:
        """Read the meter and keep the meter fault up to date (no evaluation: callers do)."""
        try:
            async with asyncio.timeout(timeout):
                reading = await self.dev.meter.read()
        except (DeviceError, TimeoutError) as e:
            if Fault.METER_FAILURE not in self._own_faults:
                log.warning("meter.failed", connector=self.cid, error=str(e) or type(e).__name__)
                self._set_faults(add=Fault.METER_FAILURE)
            return None
        self.last_reading = reading
        if Fault.METER_FAILURE in self._own_faults:
            self._set_faults(remove=Fault.METER_FAILURE)
        return reading

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self._cfg.tick_interval)
            async with self._mutex:
                try:
                    await self._check_contactor_feedback()
                except Exception:
                    log.exception("contactor.feedback_check_failed", connector=self.cid)
                await self._evaluate()

    # -- the decision ------------------------------------------------------------

    @property
    def _powered(self) -> bool:
        """An open transaction with its authorization in force: power may flow."""
        return self._tx is not None and self.session is not None and self.session.authorized

    @property
    def awaiting_authorization(self) -> bool:
        """A transaction opened at plug-in (tx_points.start_on_connect), not authorized yet."""
        s = self.session
        return s is not None and s.transaction is not None and not s.id_tag

    def _lock_target(self, now_mono: float) -> bool | None:
        if self.dev.lock is None:
            return None
        mode = self.station.lock_mode
        # a transaction without authorization holds no cable: before it the driver may
        # leave, after a deauthorization the driver must be able to unplug to end it
        tx_open = self._powered and self.plugged  # an empty socket stays open for the plug
        if tx_open or mode != LockMode.LOCKED:
            # an unlock command frees the cable of LOCKED mode between sessions only: the
            # window must not outlive a mode change or hold the lock open for a transaction
            self._unlock_until = 0.0
        if tx_open:
            return True
        if mode == LockMode.LOCKED:
            return now_mono >= self._unlock_until
        return mode == LockMode.TRANSACTION and self._awaiting_release is not None

    def _offer_target(self) -> float:
        """What the EV may draw now: the effective limit, or nothing."""
        if not self.plugged or not interlock.may_offer_current(self._snapshot(self.pwm.current_a)):
            return 0.0
        limit = self.station.limits.effective(self.cid).amps
        return limit if limit >= MIN_OFFER_A else 0.0

    def _snapshot(self, offered_a: float) -> interlock.Snapshot:
        return interlock.Snapshot(
            pilot=self.pilot,
            authorized=self._powered,
            lock_required=self.dev.lock is not None,
            lock_confirmed=self.lock_confirmed,
            faults=self.faults,
            offered_a=offered_a,
        )

    async def _evaluate(self) -> None:
        """Bring the hardware in line with the state. Caller holds the mutex.

        Whatever goes wrong in here (a full disk, a driver raising the unexpected), the
        connector ends in the safe state: contactor open, no offer, an internal fault.
        """
        if not self._running:
            return
        try:
            await self._decide_and_apply()
        except Exception:
            log.exception("connector.internal_error", connector=self.cid)
            self._set_faults(add=Fault.INTERNAL)
            await self._fail_safe()
            self._publish_status()

    async def _fail_safe(self) -> None:
        for command in (self.dev.contactor.set_closed(False), self.dev.evcc.set_offered_current(0)):
            try:
                await command
            except Exception as e:
                log.error("connector.fail_safe_failed", connector=self.cid, error=str(e))
        self.contactor_closed = False
        self._contactor_changed = time.monotonic()
        self.pwm.applied(0.0, time.monotonic())

    async def _decide_and_apply(self) -> None:
        await self._update_session()
        now = time.monotonic()

        # 1. open at once when the rules say so
        # an increase that must wait is not scheduled: the tick loop evaluates again
        offer_now, _ = self.pwm.decide(self._offer_target(), now)
        offer_after = offer_now if offer_now is not None else self.pwm.current_a
        if self.contactor_closed and not interlock.contactor_may_close(self._snapshot(offer_after)):
            await self._command_contactor(False)

        # 2. lock before offering; unlock only with the contactor open
        want_lock = self._lock_target(now)
        if want_lock is not None and not self.contactor_closed:
            await self._drive_lock(want_lock, now)

        # 3. the offer, now that the lock may have moved
        offer_now, _ = self.pwm.decide(self._offer_target(), now)
        if offer_now is not None:
            await self._command_offer(offer_now)

        # 4. close last
        if not self.contactor_closed and interlock.contactor_may_close(
            self._snapshot(self.pwm.current_a)
        ):
            await self._command_contactor(True)

        self._publish_status()

    async def _update_session(self) -> None:
        station = self.station
        now = time.time()
        if self.reservation is not None and self.reservation.expiry_ts <= now:
            await self.end_reservation("expired")
        if self.reservation is not None and (self.faults or not self.operative):
            # a faulted or inoperative connector cannot hold it: the driver would find it
            # unusable, and the CSMS may book another one
            await self.end_reservation("removed")
        if self.pilot == PilotState.A and self.session is not None and not self.session.connected:
            # begun at the authorization: the EV has until its deadline to come
            if time.monotonic() >= self.session.connect_deadline:
                log.info("session.ev_connect_timeout", connector=self.cid)
                if self.session.transaction is not None:
                    await self._stop_tx(StopReason.TIMEOUT)
                self.session = None
        elif self.pilot == PilotState.A and self.session is not None:
            session = self.session
            tx = session.transaction
            if tx is not None and session.deauthorized:
                # its stop came earlier (tx_points.stop_on_deauthorize off): the unplugging
                # ends it
                await self._stop_tx(StopReason.EV_DISCONNECTED, tx.stop_id_tag)
            elif session.transaction is not None:
                tag = session.id_tag
                await self._stop_tx(StopReason.EV_DISCONNECTED)
                if (
                    station.lock_mode == LockMode.TRANSACTION
                    and self.dev.lock is not None
                    and session.authorized
                ):
                    self._awaiting_release = tag
            self.session = None
        if self.pilot == PilotState.A:
            # failures of the last session's commands get a fresh start with the next EV
            for fault in (Fault.CONTACTOR_FAILURE, Fault.INTERNAL):
                if fault in self._own_faults:
                    self._set_faults(remove=fault)
        if self._inoperative_pending and self._tx is None:
            self._inoperative_pending = False
            self.operative = False
        startable = self.operative and not self.held and not self.faults
        if not self.plugged:
            s = self.session
            if s is not None and s.transaction is None and not s.ended and startable:
                await self._start_tx()  # begun at the authorization (begin_session)
            return
        if self.session is not None and not self.session.connected:
            self.session.connected = True
            begun = self.session.transaction
            if begun is not None:
                log.info("transaction.ev_connected", connector=self.cid, id=begun.id)
                self.station.bus.publish(TransactionEvConnected(self.cid, begun.id, clock.now()))
        if self.session is None:
            if not self.accepts_session():
                return
            pending = station.take_pending(self.cid)
            start_on_connect = station.tx_points.start_on_connect
            if pending is not None:  # take_pending checked it against the reservation
                res = self.reservation
                self.session = Session(
                    pending.id_tag,
                    pending.parent_id_tag,
                    reservation_id=res.reservation_id if res is not None else None,
                )
                await self.end_reservation("used")
            elif self.reservation is not None:  # held for its id tag
                return
            elif station.auth_mode == "PLUGNCHARGE":
                self.session = Session(station.plugncharge_tag)
            elif start_on_connect:
                # TxStartPoint EVConnected: the transaction opens now, power waits for an
                # authorization (begin_session, or a card tapped earlier: below)
                self.session = Session("")
            else:
                return
        elif self.awaiting_authorization:
            pending = station.take_pending(self.cid)
            if pending is not None:
                await self._authorize(pending.id_tag, pending.parent_id_tag)
        session = self.session
        if session.transaction is None and not session.ended and startable:
            await self._start_tx()

    async def _start_tx(self) -> None:
        assert self.session is not None
        reading = self._fresh_reading()
        if reading is None:
            reading = await self._read_meter(self._cfg.meter_timeout)
        if reading is None:
            return  # the meter fault is set; the session waits
        rec = await self.station.store.open_transaction(
            self.cid, self.session.id_tag, reading.energy_wh, clock.now(), clock.trusted()
        )
        # durable from here on: only now may power flow
        self.session.transaction = rec
        self._last_checkpoint = reading.timestamp
        log.info(
            "transaction.started",
            connector=self.cid,
            id=rec.id,
            id_tag=rec.id_tag,
            meter_start_wh=round(rec.meter_start_wh, 1),
        )
        self.station.bus.publish(
            TransactionStarted(
                self.cid,
                rec.id,
                rec.id_tag,
                rec.meter_start_wh,
                rec.start_ts,
                self.session.reservation_id,
                self.plugged,
            )
        )

    async def _stop_tx(self, reason: StopReason, id_tag: str | None = None) -> None:
        assert self.session is not None and self.session.transaction is not None
        tx = self.session.transaction
        if self.contactor_closed:
            await self._command_contactor(False)
        # the reason is durable before the (up to meter_timeout) final read
        await self.station.store.note_stopping(tx.id, str(reason), id_tag)
        reading = await self._read_meter(self._cfg.meter_timeout) if not self.faults else None
        if reading is None:
            reading = self.last_reading
        energy = reading.energy_wh if reading is not None else tx.last_meter_wh
        energy = max(energy, tx.meter_start_wh)
        rec = await self.station.store.close_transaction(
            tx.id, energy, clock.now(), str(reason), id_tag, clock.trusted()
        )
        self.session.transaction = None
        self.session.ended = True
        log.info(
            "transaction.stopped",
            connector=self.cid,
            id=rec.id,
            reason=str(reason),
            energy_wh=round(rec.consumed_wh, 1),
        )
        assert rec.stop_ts is not None and rec.meter_stop_wh is not None
        self.station.bus.publish(
            TransactionStopped(
                self.cid, rec.id, rec.id_tag, rec.meter_stop_wh, rec.stop_ts, str(reason), id_tag
            )
        )

    def _fresh_reading(self) -> MeterReading | None:
        r = self.last_reading
        if r is None or Fault.METER_FAILURE in self._own_faults:
            return None
        if time.time() - r.timestamp > 2 * self._cfg.meter_interval + self._cfg.meter_timeout:
            return None
        return r

    # -- hardware commands -------------------------------------------------------

    async def _command_contactor(self, closed: bool) -> None:
        try:
            await self.dev.contactor.set_closed(closed)
        except DeviceError as e:
            log.error("contactor.command_failed", connector=self.cid, closed=closed, error=str(e))
            self._set_faults(add=Fault.CONTACTOR_FAILURE)
            if closed:
                return
        if closed != self.contactor_closed:
            log.info("contactor", connector=self.cid, closed=closed)
            self._draw_changed_ts = time.time()
        self.contactor_closed = closed
        self._contactor_changed = time.monotonic()

    async def _command_offer(self, amps: float) -> None:
        try:
            await self.dev.evcc.set_offered_current(amps)
        except DeviceError as e:
            log.error("evcc.command_failed", connector=self.cid, amps=amps, error=str(e))
            self._set_faults(add=Fault.EVCC_LINK_LOST)
            return
        if Fault.EVCC_LINK_LOST in self._own_faults:  # it answers again
            self._set_faults(remove=Fault.EVCC_LINK_LOST)
        if amps != self.pwm.current_a:
            log.info("pwm", connector=self.cid, amps=amps)
            self._draw_changed_ts = time.time()
        self.pwm.applied(amps, time.monotonic())

    async def _drive_lock(self, locked: bool, now: float) -> None:
        lock = self.dev.lock
        assert lock is not None
        if self._lock_cmd == locked and (
            self.lock_confirmed == locked or now < self._lock_retry_at
        ):
            return
        self._lock_cmd = locked
        try:
            async with asyncio.timeout(self._cfg.lock_timeout):
                confirmed = await lock.set_locked(locked)
        except (DeviceError, TimeoutError):
            confirmed = False
        try:
            self.lock_confirmed = await lock.feedback_locked()
        except DeviceError:
            self.lock_confirmed = False
            confirmed = False
        if confirmed and self.lock_confirmed == locked:
            log.info("lock", connector=self.cid, locked=locked)
            self._set_faults(remove=Fault.LOCK_FAILURE)
        else:
            self._lock_retry_at = now + LOCK_RETRY_S
            log.error("lock.failed", connector=self.cid, wanted=locked)
            self._set_faults(add=Fault.LOCK_FAILURE)

    async def _check_contactor_feedback(self) -> None:
        try:
            feedback = await self.dev.contactor.feedback_closed()
        except DeviceError:
            return
        since = time.monotonic() - self._contactor_changed
        settle = self._cfg.welded_check_delay
        welded = interlock.is_welded(self.contactor_closed, feedback, since, settle)
        if welded and Fault.WELDED_CONTACTOR not in self._own_faults:
            log.error("contactor.welded", connector=self.cid)
            self._set_faults(add=Fault.WELDED_CONTACTOR)
            self.station.bus.publish(SafetyAction(self.cid, "welded_contactor"))
            await self._command_offer(0.0)
            await self._trip("welded contactor")
        elif welded and Fault.POWER_LOST not in self._own_faults:
            # the breaker was closed again while the contact is still welded: trip again
            await self._trip("welded contactor, breaker closed again")
        elif not feedback and not self.contactor_closed and since >= settle:
            self._set_faults(remove=Fault.WELDED_CONTACTOR)
        stuck_open = self.contactor_closed and not feedback and since >= settle
        if stuck_open and Fault.CONTACTOR_FAILURE not in self._own_faults:
            log.error("contactor.no_feedback", connector=self.cid)
            self._set_faults(add=Fault.CONTACTOR_FAILURE)

    async def _trip(self, why: str) -> None:
        self.mark_power_lost()
        confirmed = await self.station.trip_shunt(self.cid, why)
        log.error("shunt.tripped", connector=self.cid, confirmed=confirmed, why=why)

    def mark_power_lost(self) -> None:
        """The breaker is open: nothing may close until the meter sees mains voltage again.
        Sets a fault without evaluating (the caller may hold the mutex)."""
        self._set_faults(add=Fault.POWER_LOST)

    # -- status ------------------------------------------------------------------

    def _set_faults(
        self,
        add: Fault | None = None,
        remove: Fault | None = None,
        evcc: frozenset[Fault] | None = None,
    ) -> None:
        before = self.faults
        if add is not None:
            self._own_faults.add(add)
        if remove is not None:
            self._own_faults.discard(remove)
        if evcc is not None:
            self._evcc_faults = evcc
        after = self.faults
        for fault in after - before:
            log.error("fault", connector=self.cid, fault=str(fault), active=True)
            self.station.bus.publish(FaultChanged(self.cid, str(fault), True))
        for fault in before - after:
            log.info("fault", connector=self.cid, fault=str(fault), active=False)
            self.station.bus.publish(FaultChanged(self.cid, str(fault), False))

    def _compute_status(self) -> tuple[ConnectorStatus, str]:
        faults = self.faults
        if faults:
            return ConnectorStatus.FAULTED, error_code(faults)
        tx = self._tx
        if tx is not None and not self.plugged:
            return ConnectorStatus.PREPARING, "NoError"  # begun at the authorization
        if tx is not None and self.session is not None and not self.session.authorized:
            # a transaction without power: waiting for its authorization, or its EV
            return (
                ConnectorStatus.FINISHING
                if self.session.deauthorized
                else ConnectorStatus.PREPARING
            ), "NoError"
        if tx is not None:
            if self.contactor_closed:
                return ConnectorStatus.CHARGING, "NoError"
            if self.pilot == PilotState.B and self.pwm.current_a >= MIN_OFFER_A:
                return ConnectorStatus.SUSPENDED_EV, "NoError"
            return ConnectorStatus.SUSPENDED_EVSE, "NoError"
        if not self.operative or self.held:
            return ConnectorStatus.UNAVAILABLE, "NoError"
        if (self.session is not None and self.plugged) or self._awaiting_release is not None:
            ended = self.session is not None and self.session.ended
            return (
                ConnectorStatus.FINISHING
                if ended or self._awaiting_release
                else ConnectorStatus.PREPARING
            ), "NoError"
        if self.plugged:
            return ConnectorStatus.PREPARING, "NoError"
        if self.reservation is not None:
            return ConnectorStatus.RESERVED, "NoError"
        if self.station.pending_for(self.cid):
            return ConnectorStatus.PREPARING, "NoError"
        return ConnectorStatus.AVAILABLE, "NoError"

    def _publish_status(self) -> None:
        current = self._compute_status()
        if current == self._status:
            return
        self._status = current
        status, code = current
        log.info("status", connector=self.cid, status=str(status), error=code)
        self.station.bus.publish(StatusChanged(self.cid, str(status), code))
