"""The charging station: its connectors, who may charge, and the commands of OCPP and the API.

OCPP and the local API call the methods here; none of them touches hardware.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from hal.board import Board
from ncpa.charging.authorization import Authorizer, check_id_tag
from ncpa.charging.connector import Connector, ConnectorView
from ncpa.charging.recovery import recover_open_transactions
from ncpa.charging.reservation import Reservation, admitted
from ncpa.charging.states import AuthMode, Fault, LockMode, StopReason
from ncpa.charging.tx_points import DEFAULT as DEFAULT_TX_POINTS
from ncpa.charging.tx_points import TxPoints
from ncpa.config import Config
from ncpa.energy.limits import HARDWARE, INSTALLER, CurrentLimits, Limit
from ncpa.events import AuthorizationDecided, CardPresented, EventBus, LimitChanged, SafetyAction
from ncpa.journal import Journal
from ncpa.log import get_logger
from ncpa.store import Store

log = get_logger(__name__)

RCD_INPUT = "rcd_fault"  # Board.inputs name of an external RCD's fault contact


@dataclass(frozen=True)
class PendingAuth:
    """An authorization waiting for a plug (card tapped first, or a remote start)."""

    id_tag: str
    parent_id_tag: str | None
    connector_id: int | None  # None: whichever connector is plugged first
    expiry: float  # monotonic
    connectors: frozenset[int] | None = None  # the ones it is valid at (None: every one)


class ChargingStation:
    def __init__(self, config: Config, store: Store, board: Board, bus: EventBus) -> None:
        self.config = config
        self.store = store
        self.board = board
        self.bus = bus
        self.connector_ids = [c.connector_id for c in board.connectors]
        self.limits = CurrentLimits(self.connector_ids)
        self.authorizer = Authorizer(store, config.charging.authentication_mode)
        self.connectors = {c.connector_id: Connector(self, c) for c in board.connectors}
        self._lock_mode = LockMode(config.charging.lock_mode)
        self._station_max = config.charging.station_max_current
        # seconds a card tapped (or a remote start) before the plug waits for it; the OCPP
        # client sets it from ConnectionTimeOut
        self.connection_timeout: float = config.charging.connection_timeout
        # where transactions begin and end; an OCPP 2.0.1 CSMS may move them (TxCtrlr)
        self.tx_points: TxPoints = DEFAULT_TX_POINTS
        self._pending: PendingAuth | None = None
        self._learners: list[asyncio.Future[str]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[None]] = set()
        self._journal = Journal(store, bus)
        self.limits.on_change(self._limit_changed)

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        """Load settings, recover open transactions, then take control of the hardware."""
        settings = await self.store.all_settings()
        await self.authorizer.load()
        self.authorizer.mode = AuthMode(
            settings.get("authentication_mode", self.config.charging.authentication_mode)
        )
        self._lock_mode = LockMode(settings.get("lock_mode", self._lock_mode))
        self._station_max = float(settings.get("station_max_current", self._station_max))
        for cid, conn in self.connectors.items():
            conn.operative = bool(settings.get(f"connector.{cid}.operative", True))
            conn.reservation = _stored_reservation(settings.get(conn.reservation_key))
        self.limits.set(HARDWARE, self.config.station.absolute_max_current)
        self.limits.set(INSTALLER, self._station_max)
        self._journal.start()
        await asyncio.gather(*(c.start_inputs() for c in self.connectors.values()))
        await recover_open_transactions(self)
        for conn in self.connectors.values():
            await conn.run()
        if self.board.rfid is not None:
            self._tasks.append(asyncio.create_task(self._rfid_loop(), name="rfid"))
        if RCD_INPUT in self.board.inputs:
            self._tasks.append(asyncio.create_task(self._rcd_input_loop(), name="rcd-input"))
        log.info(
            "station.started",
            connectors=len(self.connectors),
            auth_mode=str(self.authorizer.mode),
            lock_mode=str(self._lock_mode),
        )

    async def stop(self, reason: StopReason = StopReason.REBOOT) -> None:
        for task in self._tasks:
            task.cancel()
        for conn in self.connectors.values():
            await conn.shutdown(reason)
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2.0)
        await self._journal.stop()

    async def _rfid_loop(self) -> None:
        assert self.board.rfid is not None
        while True:
            try:
                async for uid in self.board.rfid.cards():
                    await self.present_card(uid)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("rfid.failed", error=str(e))
            await asyncio.sleep(1.0)

    async def _rcd_input_loop(self) -> None:
        """An external RCD's fault contact: a fault on every connector while it is active."""
        rcd = self.board.inputs[RCD_INPUT]
        while True:
            try:
                async for active in rcd.changes():
                    log.info("input.rcd_fault", active=active)
                    for conn in self.connectors.values():
                        await conn.set_input_fault(Fault.RCD, active)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # an input we cannot read is a fault: fail safe
                log.error("input.rcd_fault_failed", error=str(e))
                for conn in self.connectors.values():
                    await conn.set_input_fault(Fault.RCD, True)
            await asyncio.sleep(1.0)

    # -- settings ------------------------------------------------------------------

    @property
    def auth_mode(self) -> str:
        return str(self.authorizer.mode)

    @property
    def lock_mode(self) -> LockMode:
        return self._lock_mode

    @property
    def station_max_current(self) -> float:
        return self._station_max

    @property
    def plugncharge_tag(self) -> str:
        return f"LCP{self.config.station.serial}"[:20]

    async def set_auth_mode(self, mode: str) -> None:
        new = AuthMode(mode)
        await self.store.set_setting("authentication_mode", str(new))
        self.authorizer.mode = new
        log.info("setting.auth_mode", mode=str(new))
        await self._reevaluate_all()

    async def set_lock_mode(self, mode: str) -> None:
        new = LockMode(mode)
        await self.store.set_setting("lock_mode", str(new))
        self._lock_mode = new
        log.info("setting.lock_mode", mode=str(new))
        await self._reevaluate_all()

    async def set_station_max_current(self, amps: float) -> None:
        hard = self.config.station.absolute_max_current
        if not 0 <= amps <= hard:
            raise ValueError(f"station max current must be 0..{hard:g} A")
        await self.store.set_setting("station_max_current", amps)
        self._station_max = float(amps)
        self.limits.set(INSTALLER, self._station_max)

    def set_tx_points(self, points: TxPoints) -> None:
        """For the transactions that begin from now on (an open one keeps its start; its
        end follows the new points)."""
        if points != self.tx_points:
            log.info("tx_points", **dataclasses.asdict(points))
        self.tx_points = points

    async def set_operative(self, connector_id: int, operative: bool) -> str:
        if connector_id == 0:
            results = [await self.set_operative(cid, operative) for cid in self.connector_ids]
            return "Scheduled" if "Scheduled" in results else "Accepted"
        conn = self.connectors.get(connector_id)
        if conn is None:
            return "Rejected"
        await self.store.set_setting(f"connector.{connector_id}.operative", operative)
        return await conn.set_operative(operative)

    async def hold(self, connector_ids: list[int], on: bool) -> None:
        """Take connectors out of service for now, or back (nothing stored: a restart
        ends it). A Reset OnIdle holds the idle ones while the others finish."""
        for cid in connector_ids:
            conn = self.connectors.get(cid)
            if conn is not None and conn.held != on:
                await conn.hold(on)

    # -- cards and sessions --------------------------------------------------------

    async def present_card(self, uid: str) -> str:
        """A card at the reader: learn it, stop its session, release its cable, or start."""
        uid = uid.strip().upper()
        try:
            check_id_tag(uid)
        except ValueError:
            log.warning("card.invalid", uid=uid[:40])
            return "Invalid"
        while self._learners:
            fut = self._learners.pop(0)
            if not fut.done():
                fut.set_result(uid)
                log.info("card.learned", uid=uid)
                return "Learned"
        self.bus.publish(CardPresented(uid))
        log.info("card", uid=uid)
        for conn in self.connectors.values():
            if conn.session and conn.session.transaction and conn.session.id_tag == uid:
                await conn.stop(StopReason.LOCAL, uid)
                return "Accepted"
        result = await self.authorizer.authorize(uid)
        self.bus.publish(AuthorizationDecided(uid, result.status, result.source))
        log.info("card.authorization", uid=uid, status=result.status, source=result.source)
        if not result.accepted:
            return result.status
        parent = result.parent_id_tag
        allowed = result.connectors
        for conn in self.connectors.values():
            if conn.cable_held_for == uid:
                await conn.release()
                return result.status
            s = conn.session
            if s and s.transaction and parent and s.parent_id_tag == parent:
                await conn.stop(StopReason.LOCAL, uid)
                return result.status
        target = self._connector_for(uid, parent, allowed)
        known = target is not None and (len(self.connectors) == 1 or target.reservation is not None)
        # TxStartPoint Authorized: a transaction opens at the authorization on a known
        # connector (one connector, a reservation, a remote start naming it)
        early = known and self.tx_points.start_on_authorize
        if target is not None and (target.plugged or early):
            res = target.reservation
            reservation_id = res.reservation_id if res is not None else None
            await target.begin_session(uid, parent, reservation_id, before_plug=True)
        else:
            # bound to a connector only when it is reserved for this card; else the first
            # connector plugged in takes it (the driver may choose any free one)
            cid = target.cid if target is not None and target.reservation is not None else None
            self._set_pending(PendingAuth(uid, parent, cid, self._expiry(), allowed))
        return result.status

    def _connector_for(
        self, id_tag: str, parent: str | None, allowed: frozenset[int] | None = None
    ) -> Connector | None:
        free = [
            c
            for c in self.connectors.values()
            if c.accepts_session() and (allowed is None or c.cid in allowed)
        ]
        for c in free:  # a connector reserved for this card first
            if c.reservation is not None and c.reservation.admits(id_tag, parent):
                return c
        unreserved = [c for c in free if c.reservation is None]
        for c in unreserved:
            if c.plugged:
                return c
        return unreserved[0] if unreserved else None

    def _expiry(self) -> float:
        return time.monotonic() + self.connection_timeout

    def _set_pending(self, pending: PendingAuth) -> None:
        self._pending = pending
        log.info("authorization.pending", id_tag=pending.id_tag, connector=pending.connector_id)
        for conn in self.connectors.values():
            self._spawn(conn.reevaluate())

    def pending_for(self, connector_id: int) -> bool:
        p = self._pending
        if p is None:
            return False
        if p.expiry <= time.monotonic():
            self._pending = None
            log.info("authorization.pending_expired", id_tag=p.id_tag)
            return False
        if p.connector_id is not None:
            return p.connector_id == connector_id and self._may_take(connector_id, p)
        free = [
            c.cid
            for c in self.connectors.values()
            if c.accepts_session() and self._may_take(c.cid, p)
        ]
        return bool(free) and free[0] == connector_id

    def _may_take(self, connector_id: int, p: PendingAuth) -> bool:
        """A reservation made after the card was tapped holds the connector too."""
        conn = self.connectors.get(connector_id)
        if p.connectors is not None and connector_id not in p.connectors:
            return False  # not valid at this connector (2.0.1 idTokenInfo.evseId)
        return conn is not None and admitted(conn.reservation, p.id_tag, p.parent_id_tag)

    def take_pending(self, connector_id: int) -> PendingAuth | None:
        p = self._pending
        if p is None or p.expiry <= time.monotonic():
            self._pending = None
            return None
        if p.connector_id not in (None, connector_id) or not self._may_take(connector_id, p):
            return None  # kept: another connector (or the reserved id tag's) may take it
        self._pending = None
        return p

    async def remote_start(
        self,
        id_tag: str,
        connector_id: int | None = None,
        parent_id_tag: str | None = None,
        connectors: frozenset[int] | None = None,
    ) -> bool:
        """A start from the CSMS or the local API. `parent_id_tag`: the group the caller's
        authorization named; without it, the local list's entry (if any) names it.
        `connectors`: the ones that authorization is valid at (None: every one)."""
        check_id_tag(id_tag)
        parent = parent_id_tag
        if parent is None:
            local = self.authorizer.local(id_tag)
            parent = local.parent_id_tag if local is not None and local.accepted else None
        if connector_id is not None:
            conn = self.connectors.get(connector_id)
            if conn is None or not conn.accepts_session():
                return False
            if connectors is not None and connector_id not in connectors:
                log.info("remote_start.not_valid_here", id_tag=id_tag, connector=connector_id)
                return False
            if not admitted(conn.reservation, id_tag, parent):
                log.info("remote_start.reserved", id_tag=id_tag, connector=connector_id)
                return False
        else:
            conn = self._connector_for(id_tag, parent, connectors)
            if conn is None:
                return False
        log.info("remote_start", id_tag=id_tag, connector=conn.cid)
        known = connector_id is not None or len(self.connectors) == 1
        if conn.plugged or (known and self.tx_points.start_on_authorize):
            res = conn.reservation
            return await conn.begin_session(
                id_tag, parent, res.reservation_id if res else None, before_plug=True
            )
        # bound when named or reserved; else the first connector plugged in takes it
        cid = conn.cid if connector_id is not None or conn.reservation is not None else None
        self._set_pending(PendingAuth(id_tag, parent, cid, self._expiry(), connectors))
        return True

    async def stop_transaction(
        self, transaction_id: int, reason: str = "Remote", id_tag: str | None = None
    ) -> bool:
        for conn in self.connectors.values():
            tx = conn.session.transaction if conn.session else None
            if tx is not None and tx.id == transaction_id:
                return await conn.stop(StopReason(reason), id_tag)
        return False

    async def stop_connector(
        self, connector_id: int, reason: str, id_tag: str | None = None
    ) -> bool:
        conn = self.connectors.get(connector_id)
        return await conn.stop(StopReason(reason), id_tag) if conn else False

    def note_remote_id(self, transaction_id: int, remote_id: str) -> None:
        """The CSMS's id, already on disk, for the open session's record."""
        for conn in self.connectors.values():
            conn.note_remote_id(transaction_id, remote_id)

    async def set_remote_id(self, transaction_id: int, remote_id: str) -> None:
        """The CSMS's id for a local transaction: on disk, and in the open session's record."""
        await self.store.set_remote_id(transaction_id, remote_id)
        for conn in self.connectors.values():
            conn.note_remote_id(transaction_id, remote_id)

    async def switch_phases(self, connector_id: int, phases: int) -> bool:
        """The charging modes' phase switching: only with the contactor open, EV paused."""
        conn = self.connectors.get(connector_id)
        return conn is not None and await conn.switch_phases(phases)

    def phase_switch_phases(self, connector_id: int) -> int | None:
        """Phases the connector's switch connects now; None without a switch."""
        conn = self.connectors.get(connector_id)
        switch = conn.dev.phase_switch if conn is not None else None
        return switch.phases if switch is not None else None

    async def unlock(self, connector_id: int) -> str:
        conn = self.connectors.get(connector_id)
        if conn is None:
            return "NotSupported"
        return await conn.unlock()

    async def shutdown_sessions(self, reason: str) -> None:
        for conn in self.connectors.values():
            await conn.stop(StopReason(reason))

    async def learn_card(self, timeout: float) -> str | None:
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._learners.append(fut)
        try:
            async with asyncio.timeout(timeout):
                return await fut
        except TimeoutError:
            return None
        finally:
            if fut in self._learners:
                self._learners.remove(fut)

    # -- reservations ----------------------------------------------------------------

    async def reserve(
        self,
        reservation_id: int,
        connector_id: int,
        id_tag: str,
        expiry_ts: float,
        parent_id_tag: str | None = None,
    ) -> str:
        check_id_tag(id_tag)
        for other in self.connectors.values():  # the same id replaces a reservation
            if other.reservation and other.reservation.reservation_id == reservation_id:
                await other.end_reservation("replaced")
                self._spawn(other.reevaluate())
        conn = self.connectors.get(connector_id)
        if conn is None:
            return "Rejected"
        if conn.faults:
            return "Faulted"
        if not conn.operative:
            return "Unavailable"
        if conn.session is not None or conn.plugged or conn.reservation is not None:
            return "Occupied"
        await conn.hold_reservation(Reservation(reservation_id, id_tag, expiry_ts, parent_id_tag))
        log.info("reservation", id=reservation_id, connector=connector_id, id_tag=id_tag)
        await conn.reevaluate()
        return "Accepted"

    def reservation(self, connector_id: int) -> Reservation | None:
        """The reservation holding a connector now (an expired one holds nothing)."""
        conn = self.connectors.get(connector_id)
        res = conn.reservation if conn is not None else None
        return res if res is not None and res.expiry_ts > time.time() else None

    async def cancel_reservation(self, reservation_id: int) -> bool:
        for conn in self.connectors.values():
            if conn.reservation and conn.reservation.reservation_id == reservation_id:
                await conn.end_reservation("cancelled")
                await conn.reevaluate()
                return True
        return False

    # -- hardware that belongs to the station -----------------------------------------

    async def trip_shunt(self, connector_id: int, why: str) -> bool:
        """Trip the upstream breaker: mains is gone for every connector, which faults until
        its meter sees voltage again. The caller may hold its own connector's mutex."""
        for conn in self.connectors.values():
            conn.mark_power_lost()
            if conn.cid != connector_id:
                self._spawn(conn.reevaluate())
        try:
            confirmed = await self.board.shunt.trip()
        except Exception as e:
            log.error("shunt.failed", error=str(e))
            confirmed = False
        self.bus.publish(SafetyAction(connector_id, "shunt_trip", f"{why}; confirmed={confirmed}"))
        return confirmed

    async def fire_shunt(self) -> bool:
        """Installer test of the shunt trip: open every contactor first, then trip."""
        for conn in self.connectors.values():
            await conn.stop(StopReason.EMERGENCY_STOP)
        return await self.trip_shunt(0, "installer test")

    async def evcc_version(self) -> str:
        conn = self.board.connectors[0]
        try:
            async with asyncio.timeout(2.0):
                return await conn.evcc.firmware_version()
        except Exception:
            return "unknown"

    # -- views -------------------------------------------------------------------------

    def view(self, connector_id: int) -> ConnectorView:
        return self.connectors[connector_id].view()

    def views(self) -> list[ConnectorView]:
        return [c.view() for c in self.connectors.values()]

    def _limit_changed(self, connector_id: int, limit: Limit) -> None:
        self.bus.publish(LimitChanged(connector_id, limit.amps, limit.source))
        conn = self.connectors.get(connector_id)
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no loop yet: start() evaluates anyway
            return
        if conn is not None:
            self._spawn(conn.reevaluate())

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _reevaluate_all(self) -> None:
        for conn in self.connectors.values():
            await conn.reevaluate()


def _stored_reservation(raw: Any) -> Reservation | None:
    """A reservation kept across a restart (one that expired meanwhile ends at the first
    evaluation, as any other)."""
    if not isinstance(raw, dict):
        return None
    try:
        return Reservation(
            int(raw["reservation_id"]),
            str(raw["id_tag"]),
            float(raw["expiry_ts"]),
            str(raw["parent_id_tag"]) if raw.get("parent_id_tag") else None,
        )
    except (KeyError, TypeError, ValueError):
        log.warning("reservation.unreadable", value=str(raw)[:80])
        return None
