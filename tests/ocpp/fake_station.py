"""A minimal stand-in for ChargingStation until the charging core is on main.

Real Store, EventBus and CurrentLimits; connectors are plain records. It emits the
same events as the core (StatusChanged, TransactionStarted/Stopped, MeterSample).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from hal.meter import MeterReading
from ncpa.config import Config
from ncpa.energy.limits import CurrentLimits
from ncpa.events import (
    EventBus,
    MeterSample,
    StatusChanged,
    TransactionStarted,
    TransactionStopped,
)
from ncpa.ocpp.authorization import AuthAnswer as AuthResult
from ncpa.store import Store, TransactionRecord, WhitelistEntry

_STATUS = {"ACCEPTED": "Accepted", "BLOCKED": "Blocked", "EXPIRED": "Expired"}


class FakeAuthorizer:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.local_pre_authorize = True
        self.remote: Any = None
        self._cards: dict[str, WhitelistEntry] = {}

    async def load(self) -> None:
        self._cards = {e.token: e for e in await self.store.whitelist()}

    async def authorize(self, id_tag: str) -> AuthResult:
        e = self._cards.get(id_tag)
        local = (
            AuthResult(_STATUS.get(e.status, "Invalid"), e.parent_id_tag, "whitelist")
            if e
            else None
        )
        if local is not None and (self.local_pre_authorize or self.remote is None):
            return local
        if self.remote is not None:
            answer = await self.remote(id_tag)
            if answer is not None:
                return AuthResult(answer.status, answer.parent_id_tag, answer.source)
        return local or AuthResult("Invalid", None, "whitelist")

    async def cards(self) -> list[WhitelistEntry]:
        return list(self._cards.values())

    async def card(self, token: str) -> WhitelistEntry | None:
        return self._cards.get(token)

    async def add_card(self, entry: WhitelistEntry) -> None:
        await self.store.put_card(entry)
        self._cards[entry.token] = entry

    async def delete_card(self, token: str) -> bool:
        self._cards.pop(token, None)
        return await self.store.delete_card(token)

    async def replace_cards(self, entries: Iterable[WhitelistEntry]) -> None:
        entries = list(entries)
        await self.store.replace_whitelist(entries)
        self._cards = {e.token: e for e in entries}


@dataclass(frozen=True)
class View:
    connector_id: int
    status: str = "Available"
    error_code: str = "NoError"
    operative: bool = True
    transaction: TransactionRecord | None = None
    last_reading: MeterReading | None = None
    offered_a: float = 16.0
    plugged: bool = False
    pending: str | None = None
    reservation: tuple[int, str] | None = None


class FakeStation:
    def __init__(self, config: Config, store: Store, connectors: int = 1) -> None:
        self.config = config
        self.store = store
        self.bus = EventBus()
        self.connector_ids = list(range(1, connectors + 1))
        self.limits = CurrentLimits(self.connector_ids)
        self.authorizer = FakeAuthorizer(store)
        self._views = {c: View(c) for c in self.connector_ids}
        self.energy = {c: 1000.0 for c in self.connector_ids}
        self.unlocked: list[int] = []

    def view(self, connector_id: int) -> View:
        return self._views[connector_id]

    def views(self) -> list[View]:
        return list(self._views.values())

    def _set(self, cid: int, **kw: Any) -> None:
        old = self._views[cid]
        new = replace(old, **kw)
        self._views[cid] = new
        if new.status != old.status:
            self.bus.publish(StatusChanged(cid, new.status, new.error_code))

    # -- what the simulator / a driver would do -------------------------------------
    async def plug(self, cid: int) -> None:
        v = self._views[cid]
        self._set(cid, plugged=True, status="Preparing")
        if v.pending:
            await self._begin(cid, v.pending)

    async def unplug(self, cid: int) -> None:
        v = self._views[cid]
        if v.transaction:
            await self._end(cid, "EVDisconnected", None)
        self._set(cid, plugged=False, status="Available", pending=None)

    async def present_card(self, uid: str) -> str:
        result = await self.authorizer.authorize(uid)
        if not result.accepted:
            return result.status
        cid = self.connector_ids[0]
        if self._views[cid].plugged:
            await self._begin(cid, uid)
        else:
            self._set(cid, pending=uid)
        return result.status

    def sample(self, cid: int, add_wh: float = 100.0, ts: float | None = None) -> None:
        self.energy[cid] += add_wh
        r = MeterReading(
            (230.0, 230.0, 230.0),
            (16.0, 16.0, 16.0),
            (3680.0, 3680.0, 3680.0),
            self.energy[cid],
            ts if ts is not None else time.time(),
        )
        tx = self._views[cid].transaction
        self._set(cid, last_reading=r)
        self.bus.publish(MeterSample(cid, r, tx.id if tx else None, 16.0))

    async def _begin(self, cid: int, id_tag: str) -> None:
        res = self._views[cid].reservation
        tx = await self.store.open_transaction(cid, id_tag, self.energy[cid], time.time())
        self._set(cid, transaction=tx, status="Charging", pending=None, reservation=None)
        self.bus.publish(
            TransactionStarted(
                cid, tx.id, id_tag, tx.meter_start_wh, tx.start_ts, res[0] if res else None
            )
        )

    async def _end(self, cid: int, reason: str, id_tag: str | None) -> None:
        tx = self._views[cid].transaction
        assert tx is not None
        done = await self.store.close_transaction(
            tx.id, self.energy[cid], time.time(), reason, id_tag
        )
        self._set(cid, transaction=None, status="Finishing")
        self.bus.publish(
            TransactionStopped(
                cid, tx.id, tx.id_tag, done.meter_stop_wh or 0, done.stop_ts or 0, reason, id_tag
            )
        )

    # -- the ChargingStation API ------------------------------------------------------
    async def remote_start(self, id_tag: str, connector_id: int | None = None) -> bool:
        cid = connector_id or self.connector_ids[0]
        v = self._views[cid]
        if v.transaction or not v.operative:
            return False
        if v.plugged:
            await self._begin(cid, id_tag)
        else:
            self._set(cid, pending=id_tag)
        return True

    async def stop_transaction(
        self, transaction_id: int, reason: str = "Remote", id_tag: str | None = None
    ) -> bool:
        for cid, v in self._views.items():
            if v.transaction and v.transaction.id == transaction_id:
                await self._end(cid, reason, id_tag)
                return True
        return False

    async def stop_connector(
        self, connector_id: int, reason: str, id_tag: str | None = None
    ) -> bool:
        v = self._views.get(connector_id)
        if v is None or v.transaction is None:
            return False
        await self._end(connector_id, reason, id_tag)
        return True

    async def unlock(self, connector_id: int) -> str:
        self.unlocked.append(connector_id)
        return "Unlocked"

    async def set_operative(self, connector_id: int, operative: bool) -> str:
        if connector_id == 0:
            for c in self.connector_ids:
                await self.set_operative(c, operative)
            return "Accepted"
        await self.store.set_setting(f"connector.{connector_id}.operative", operative)
        if self._views[connector_id].transaction and not operative:
            self._set(connector_id, operative=False)
            return "Scheduled"
        self._set(
            connector_id, operative=operative, status="Available" if operative else "Unavailable"
        )
        return "Accepted"

    async def reserve(
        self,
        reservation_id: int,
        connector_id: int,
        id_tag: str,
        expiry_ts: float,
        parent_id_tag: str | None = None,
    ) -> str:
        v = self._views.get(connector_id)
        if v is None:
            return "Rejected"
        if v.transaction or v.plugged:
            return "Occupied"
        self._set(connector_id, reservation=(reservation_id, id_tag), status="Reserved")
        return "Accepted"

    async def cancel_reservation(self, reservation_id: int) -> bool:
        for cid, v in self._views.items():
            if v.reservation and v.reservation[0] == reservation_id:
                self._set(cid, reservation=None, status="Available")
                return True
        return False

    async def shutdown_sessions(self, reason: str) -> None:
        for cid, v in self._views.items():
            if v.transaction:
                await self._end(cid, reason, None)
