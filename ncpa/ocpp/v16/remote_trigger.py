"""RemoteTrigger: TriggerMessage (and the security whitepaper's ExtendedTriggerMessage)."""

from __future__ import annotations

from typing import Any

from ocpp.v16 import call_result

from ncpa.ocpp.routing import on
from ncpa.ocpp.v16.base import Handlers

TRIGGERS = frozenset(
    {
        "BootNotification",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "StatusNotification",
    }
)
EXTENDED_TRIGGERS = frozenset(
    {
        "BootNotification",
        "LogStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "SignChargePointCertificate",
        "StatusNotification",
    }
)


class TriggerHandlers(Handlers):
    def _trigger(self, message: str, connector_id: int | None, allowed: frozenset[str]) -> str:
        station = self.ctx.station
        if message not in allowed:
            return "NotImplemented"
        if connector_id is not None and connector_id not in (0, *station.connector_ids):
            return "Rejected"
        self.after_reply(self.ctx.ops.trigger(message, connector_id))
        return "Accepted"

    @on("TriggerMessage")
    async def on_trigger_message(
        self, requested_message: str, connector_id: int | None = None, **_: Any
    ) -> call_result.TriggerMessage:
        status = self._trigger(requested_message, connector_id, TRIGGERS)
        return call_result.TriggerMessage(status=status)

    @on("ExtendedTriggerMessage")
    async def on_extended_trigger_message(
        self, requested_message: str, connector_id: int | None = None, **_: Any
    ) -> call_result.ExtendedTriggerMessage:
        status = self._trigger(requested_message, connector_id, EXTENDED_TRIGGERS)
        return call_result.ExtendedTriggerMessage(status=status)
