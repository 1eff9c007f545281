"""Core profile handlers (the CSMS -> charge point calls)."""

from __future__ import annotations

from typing import Any

from ocpp.v16 import call_result

from ncpa.log import get_logger
from ncpa.ocpp.reservation_rule import remote_start_admitted
from ncpa.ocpp.routing import on
from ncpa.ocpp.v16.base import Handlers

log = get_logger(__name__)


class CoreHandlers(Handlers):
    @on("ChangeAvailability")
    async def on_change_availability(
        self, connector_id: int, type: str, **_: Any
    ) -> call_result.ChangeAvailability:
        station = self.ctx.station
        if connector_id != 0 and connector_id not in station.connector_ids:
            return call_result.ChangeAvailability(status="Rejected")
        status = await station.set_operative(connector_id, type == "Operative")
        return call_result.ChangeAvailability(status=status)

    @on("ChangeConfiguration")
    async def on_change_configuration(
        self, key: str, value: str, **_: Any
    ) -> call_result.ChangeConfiguration:
        status = await self.ctx.settings.change(key, value)
        return call_result.ChangeConfiguration(status=status)

    @on("GetConfiguration")
    async def on_get_configuration(
        self, key: list[str] | None = None, **_: Any
    ) -> call_result.GetConfiguration:
        known, unknown = self.ctx.settings.report(key)
        return call_result.GetConfiguration(
            configuration_key=known or None, unknown_key=unknown or None
        )

    @on("ClearCache")
    async def on_clear_cache(self, **_: Any) -> call_result.ClearCache:
        await self.ctx.cache.clear()
        return call_result.ClearCache(status="Accepted")

    @on("DataTransfer")
    async def on_data_transfer(self, vendor_id: str, **_: Any) -> call_result.DataTransfer:
        log.info("ocpp.data_transfer.unknown_vendor", vendor_id=vendor_id)
        return call_result.DataTransfer(status="UnknownVendorId")

    @on("RemoteStartTransaction")
    async def on_remote_start_transaction(
        self,
        id_tag: str,
        connector_id: int | None = None,
        charging_profile: dict[str, Any] | None = None,
        **_: Any,
    ) -> call_result.RemoteStartTransaction:
        ctx = self.ctx
        station = ctx.station

        def rejected(why: str) -> call_result.RemoteStartTransaction:
            log.info("ocpp.remote_start.rejected", id_tag=id_tag, connector=connector_id, why=why)
            return call_result.RemoteStartTransaction(status="Rejected")

        if connector_id == 0:
            # 1.6 §6.33: connectorId SHALL be > 0; several central systems send 0 for "any"
            return rejected("connectorId 0 is not a connector: omit connectorId for any")
        if connector_id is not None and connector_id not in station.connector_ids:
            return rejected(f"no connector {connector_id}")
        if charging_profile is not None and (
            charging_profile.get("charging_profile_purpose") != "TxProfile"
        ):
            return rejected("the charging profile of a remote start must be a TxProfile")
        candidates = [connector_id] if connector_id else station.connector_ids
        if not any(_free(station.view(c)) for c in candidates):
            return rejected("no free connector")
        if not await remote_start_admitted(ctx, id_tag, connector_id):
            return rejected("reserved for another id tag")
        if ctx.settings.get_bool("AuthorizeRemoteTxRequests"):
            # authorizing may need an Authorize.req: answer first, then start
            self.after_reply(ctx.ops.remote_start(id_tag, connector_id, charging_profile, True))
            return call_result.RemoteStartTransaction(status="Accepted")
        ok = await station.remote_start(id_tag, connector_id)
        if not ok:
            return rejected("the charging core refused the start")
        if charging_profile is not None:
            self.after_reply(ctx.ops.remote_start_profile(id_tag, connector_id, charging_profile))
        return call_result.RemoteStartTransaction(status="Accepted")

    @on("RemoteStopTransaction")
    async def on_remote_stop_transaction(
        self, transaction_id: int, **_: Any
    ) -> call_result.RemoteStopTransaction:
        local = await self.ctx.ops.local_transaction(str(transaction_id))
        if local is None:
            return call_result.RemoteStopTransaction(status="Rejected")
        self.after_reply(self._stop(local))
        return call_result.RemoteStopTransaction(status="Accepted")

    async def _stop(self, local_id: int) -> None:
        await self.ctx.station.stop_transaction(local_id, "Remote")

    @on("Reset")
    async def on_reset(self, type: str, **_: Any) -> call_result.Reset:
        self.after_reply(self.ctx.ops.reset(type))
        return call_result.Reset(status="Accepted")

    @on("UnlockConnector")
    async def on_unlock_connector(self, connector_id: int, **_: Any) -> call_result.UnlockConnector:
        station = self.ctx.station
        if connector_id not in station.connector_ids:
            return call_result.UnlockConnector(status="NotSupported")
        if station.view(connector_id).transaction is not None:
            await station.stop_connector(connector_id, "UnlockCommand")
        status = await station.unlock(connector_id)
        return call_result.UnlockConnector(status=status)


def _free(view: Any) -> bool:
    """A connector that can take a new session (the core has the final word)."""
    return view.transaction is None and view.status in (
        "Available",
        "Preparing",
        "Reserved",
        "Finishing",
    )
