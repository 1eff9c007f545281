"""F Remote control: RequestStartTransaction (remoteStartId echoed in the Started event,
AuthorizeRemoteStart, an optional TxProfile), RequestStopTransaction, UnlockConnector,
TriggerMessage (a BootNotification cannot be triggered once Accepted)."""

from __future__ import annotations

from typing import Any

from ocpp.v201 import call_result

from ncpa.log import get_logger
from ncpa.ocpp.reservation_rule import remote_start_admitted
from ncpa.ocpp.routing import on
from ncpa.ocpp.v201 import transactions
from ncpa.ocpp.v201.adapter import TRIGGERS
from ncpa.ocpp.v201.base import Block
from ncpa.ocpp.v201.ids import connector_of
from ncpa.ocpp.v201.smart_charging import schedule_problem, to_engine

log = get_logger(__name__)

_FREE = ("Available", "Preparing", "Reserved", "Finishing")
REMEMBERED = 64  # remote-started id tokens kept (their type, remoteStartId): the newest


def _remember(table: dict[str, Any], token: str, value: Any) -> None:
    """Bounded: a CSMS that starts many sessions that never begin grows nothing."""
    table.pop(token, None)
    table[token] = value
    while len(table) > REMEMBERED:
        del table[next(iter(table))]


class RemoteControlBlock(Block):
    @on("RequestStartTransaction")
    async def on_request_start_transaction(
        self,
        id_token: dict[str, Any],
        remote_start_id: int,
        evse_id: int | None = None,
        group_id_token: dict[str, Any] | None = None,
        charging_profile: dict[str, Any] | None = None,
        **_: Any,
    ) -> call_result.RequestStartTransaction:
        ctx = self.ctx
        station = ctx.station
        token = str(id_token["id_token"])

        def rejected(why: str) -> call_result.RequestStartTransaction:
            log.info("ocpp.remote_start.rejected", id_token=token, evse=evse_id, why=why)
            return call_result.RequestStartTransaction(
                status="Rejected", status_info={"reason_code": why[:20]}
            )

        cid: int | None = None
        if evse_id is not None:
            cid = connector_of(station, evse_id)
            if cid is None:
                return rejected("UnknownEvse")
        profile = None
        if charging_profile is not None:
            if charging_profile.get("charging_profile_purpose") != "TxProfile":
                return rejected("NotTxProfile")
            # the transaction does not exist yet: the CSMS cannot name it (F01)
            if charging_profile.get("transaction_id") is not None:
                return rejected("TransactionIdSet")
            if (why := schedule_problem(charging_profile)) is not None:
                return rejected(why)
            try:
                profile = to_engine(charging_profile)
            except (KeyError, ValueError):
                return rejected("InvalidProfile")
        candidates = [cid] if cid is not None else station.connector_ids
        # free: no transaction, or one begun at plug-in that waits for an authorization
        # (TxStartPoint EVConnected), whose id the answer names (its transactionId)
        free = [c for c in candidates if station.view(c).awaits_authorization]
        if not any(station.view(c).status in _FREE for c in free):
            return rejected("NoFreeEvse")
        group = group_id_token.get("id_token") if group_id_token else None
        if not await remote_start_admitted(ctx, token, cid, group):
            return rejected("Reserved")  # H03: only its idToken or groupIdToken
        _remember(ctx.id_token_types, token, str(id_token.get("type", "Central")))
        _remember(ctx.remote_start_ids, token, remote_start_id)
        begun = [t for c in free if (t := station.view(c).transaction) is not None]
        tx = begun[0] if len(begun) == 1 else None
        accepted = call_result.RequestStartTransaction(
            status="Accepted",
            transaction_id=transactions.transaction_id(ctx.instance_id, tx.id) if tx else None,
        )
        if ctx.settings.get_bool("AuthorizeRemoteTxRequests"):
            self.after_reply(ctx.ops.remote_start(token, cid, profile, True))
            return accepted
        ok = await station.remote_start(token, cid, group)
        if not ok:
            return rejected("Refused")
        if profile is not None:
            self.after_reply(ctx.ops.remote_start_profile(token, cid, profile))
        return accepted

    @on("RequestStopTransaction")
    async def on_request_stop_transaction(
        self, transaction_id: str, **_: Any
    ) -> call_result.RequestStopTransaction:
        ctx = self.ctx
        local = transactions.local_id(ctx.instance_id, transaction_id)
        open_ids = {v.transaction.id for v in ctx.station.views() if v.transaction is not None}
        if local is None or local not in open_ids:
            return call_result.RequestStopTransaction(status="Rejected")
        self.after_reply(self._stop(local))
        return call_result.RequestStopTransaction(status="Accepted")

    async def _stop(self, local_id: int) -> None:
        await self.ctx.station.stop_transaction(local_id, "Remote")

    @on("UnlockConnector")
    async def on_unlock_connector(
        self, evse_id: int, connector_id: int, **_: Any
    ) -> call_result.UnlockConnector:
        station = self.ctx.station
        cid = connector_of(station, evse_id, connector_id)
        if cid is None:
            return call_result.UnlockConnector(status="UnknownConnector")
        view = station.view(cid)
        if view.transaction is not None and view.tx_authorized:
            # F05.FR.02: an authorized transaction keeps its cable (one not authorized yet,
            # or stopped already, ends: UnlockCommand)
            return call_result.UnlockConnector(status="OngoingAuthorizedTransaction")
        status = await station.unlock(cid)
        return call_result.UnlockConnector(
            status="Unlocked" if status == "Unlocked" else "UnlockFailed"
        )

    @on("TriggerMessage")
    async def on_trigger_message(
        self, requested_message: str, evse: dict[str, Any] | None = None, **_: Any
    ) -> call_result.TriggerMessage:
        ctx = self.ctx
        if requested_message not in TRIGGERS:
            return call_result.TriggerMessage(status="NotImplemented")
        cid: int | None = None
        if evse is not None and evse.get("id"):
            cid = connector_of(ctx.station, int(evse["id"]), evse.get("connector_id"))
            if cid is None:
                return call_result.TriggerMessage(status="Rejected")
        if requested_message == "BootNotification" and ctx.ops.registered():
            return call_result.TriggerMessage(status="Rejected")  # F06.FR.17
        self.after_reply(ctx.ops.trigger(requested_message, cid))
        return call_result.TriggerMessage(status="Accepted")
