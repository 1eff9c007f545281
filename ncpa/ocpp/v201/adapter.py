"""OCPP 2.0.1 over the neutral core: the messages we send and what their answers mean."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from ocpp.v201 import call

from ncpa.ocpp.adapter import BootAnswer, Delivery, transfer_body
from ncpa.ocpp.local_limits import LOCAL
from ncpa.ocpp.outbox import START, STATUS, UPDATE, Item
from ncpa.ocpp.rpc import RpcEndpoint, Transport
from ncpa.ocpp.timeutil import fmt_time
from ncpa.ocpp.transactions import AUTHORIZED
from ncpa.ocpp.v201 import messages, transactions, tx_points
from ncpa.ocpp.v201.dialect import V201
from ncpa.ocpp.v201.ids import evse_of
from ncpa.ocpp.v201.security import EVENT_NAMES

if TYPE_CHECKING:
    from ncpa.charging.tx_points import TxPoints
    from ncpa.energy.limits import Limit
    from ncpa.ocpp.context import OcppContext
    from ncpa.ocpp.settings import OcppSettings

TRIGGERS = frozenset(
    {
        "BootNotification",
        "Heartbeat",
        "LogStatusNotification",
        "FirmwareStatusNotification",
        "MeterValues",
        "SignChargingStationCertificate",
        "StatusNotification",
        "TransactionEvent",
    }
)


class V201Adapter:
    refused_while_pending = frozenset({"RequestStartTransaction", "RequestStopTransaction"})
    subprotocol = "ocpp2.0.1"
    dialect = V201

    def __init__(self) -> None:
        self.ctx: OcppContext | None = None

    def endpoint(self, ctx: OcppContext, transport: Transport) -> RpcEndpoint:
        from ncpa.ocpp.v201.charge_point import ChargePoint201

        self.ctx = ctx
        ctx.auth.version = "2.0.1"  # the cache's 2.0.1 rules (AuthCacheLifeTime)
        return ChargePoint201(ctx).endpoint(transport, V201)

    # -- provisioning, availability ----------------------------------------------------

    def boot(self, ctx: OcppContext, reason: str) -> Any:
        st = ctx.station.config.station
        return call.BootNotification(
            charging_station={
                "model": st.model[:20],
                "vendor_name": st.vendor[:50],
                "serial_number": st.serial[:25],
                "firmware_version": ctx.firmware_version[:50],
            },
            reason=reason,
        )

    def boot_answer(self, res: Any) -> BootAnswer:
        return BootAnswer(str(res.status), int(res.interval), res.current_time)

    def heartbeat(self) -> Any:
        return call.Heartbeat()

    def status(self, connector_id: int, status: str, error_code: str) -> Any:
        evse_id, conn = evse_of(connector_id)
        return call.StatusNotification(
            timestamp=fmt_time(time.time()),
            connector_status=messages.CONNECTOR_STATUS.get(status, "Unavailable"),
            evse_id=evse_id,
            connector_id=conn,
        )

    # -- authorization -------------------------------------------------------------------

    def id_token_type(self, id_tag: str) -> str:
        ctx = self.ctx
        if ctx is None:
            return "ISO14443"
        known = ctx.id_token_types.get(id_tag)
        if known:
            return known
        return "Local" if id_tag == ctx.station.plugncharge_tag else "ISO14443"

    def authorize(self, id_tag: str) -> Any:
        return call.Authorize(id_token=messages.id_token(id_tag, self.id_token_type(id_tag)))

    def authorize_answer(self, res: Any) -> dict[str, Any]:
        return messages.id_token_info(dict(res.id_token_info))

    # -- meter values, security, notifications -------------------------------------------

    def meter_values(
        self, connector_id: int, meter_value: dict[str, Any], remote_id: str | None
    ) -> Any:
        evse_id, _ = evse_of(connector_id)
        return call.MeterValues(evse_id=evse_id, meter_value=[messages.meter_value(meter_value)])

    def security_event_name(self, kind: str) -> str:
        return EVENT_NAMES.get(kind, kind)

    def security_event(self, kind: str, timestamp: str, info: str) -> Any:
        return call.SecurityEventNotification(
            type=self.security_event_name(kind), timestamp=timestamp, tech_info=info or None
        )

    def sign_certificate(self, csr: str) -> Any:
        return call.SignCertificate(csr=csr, certificate_type="ChargingStationCertificate")

    def data_transfer(self, vendor_id: str, message_id: str | None, data: Any) -> dict[str, Any]:
        return transfer_body(vendor_id, message_id, data)

    def data_transfer_answer(self, res: dict[str, Any]) -> dict[str, Any]:
        return {"status": str(res["status"]), "data": res.get("data")}

    def notification(self, kind: str, status: str, request_id: int | None) -> Any | None:
        if kind == "firmware":
            # L01.FR.20: Idle carries no requestId (no update is under way)
            rid = None if status == "Idle" else request_id
            return call.FirmwareStatusNotification(status=status, request_id=rid)
        if kind in ("log", "diagnostics"):
            rid = None if status == "Idle" else request_id  # Idle: no upload under way
            return call.LogStatusNotification(status=status, request_id=rid)
        if kind == "reservation" and request_id is not None:  # H04: Expired | Removed
            return call.ReservationStatusUpdate(
                reservation_id=request_id, reservation_update_status=status
            )
        return None

    def charging_limit(
        self, connector_id: int, limit: Limit | None, before: str | None
    ) -> Any | None:
        """K12 NotifyChargingLimit (with the local limit as a one-period schedule in A), or
        ClearedChargingLimit when no local limit constrains the EVSE any more."""
        evse_id, _ = evse_of(connector_id)
        if limit is None:
            if before is None:
                return None
            return call.ClearedChargingLimit(
                charging_limit_source=LOCAL.get(before, "Other"), evse_id=evse_id
            )
        schedule = {
            "id": evse_id,
            "start_schedule": fmt_time(time.time()),
            "charging_rate_unit": "A",
            "charging_schedule_period": [
                {"start_period": 0, "limit": math.floor(limit.amps * 10) / 10}
            ],
        }
        with_schedule = self.ctx is None or self.ctx.settings.get_bool(
            "NotifyChargingLimitWithSchedules"
        )
        return call.NotifyChargingLimit(
            charging_limit={"charging_limit_source": LOCAL.get(limit.source, "Other")},
            evse_id=evse_id,
            charging_schedule=[schedule] if with_schedule else None,
        )

    # -- the queue ---------------------------------------------------------------------

    def outbox_call(self, ctx: OcppContext, item: Item) -> Any | None:
        p = item.payload
        if item.kind == STATUS and not transactions.is_charging_state(item):
            cid = int(p["connector_id"])
            if cid == 0:
                return None  # 2.0.1 has no connector 0: the station is its EVSEs
            evse_id, conn = evse_of(cid)
            return call.StatusNotification(
                timestamp=p["timestamp"],
                connector_status=messages.CONNECTOR_STATUS.get(p["status"], "Unavailable"),
                evse_id=evse_id,
                connector_id=conn,
            )
        id_tag = str(p.get("id_tag") or "")
        remote_start = ctx.remote_start_ids.get(id_tag) if _authorizes(item) else None
        return transactions.event(item, ctx.instance_id, self.id_token_type(id_tag), remote_start)

    def outbox_answer(self, item: Item, res: Any) -> Delivery:
        if item.kind == STATUS and not transactions.is_charging_state(item):
            return Delivery()
        info = getattr(res, "id_token_info", None)
        ctx = self.ctx
        if _authorizes(item) and ctx is not None:
            ctx.remote_start_ids.pop(str(item.payload.get("id_tag")), None)
        prefix = ctx.instance_id if ctx is not None else ""
        remote = transactions.transaction_id(prefix, item.tx_id) if item.kind == START else None
        return Delivery(
            remote_id=remote,
            id_tag_info=messages.id_token_info(dict(info)) if info else None,
            seq_no=item.seq_no + 1,
        )

    def keeps_undelivered(self, item: Item) -> bool:
        # a TransactionEvent is never lost silently (E13): kept until the CSMS takes it;
        # its seqNo is taken once sent, so dropping it would leave a gap the CSMS waits on
        return item.kind != STATUS or transactions.is_charging_state(item)

    def may_overtake(self, item: Item) -> bool:
        # a StatusNotification is no part of a transaction's seqNo sequence
        return item.kind == STATUS and not transactions.is_charging_state(item)

    def triggers(self) -> frozenset[str]:
        return TRIGGERS

    def tx_points(self, settings: OcppSettings) -> TxPoints:
        return tx_points.points(settings.get_csl("TxStartPoint"), settings.get_csl("TxStopPoint"))


def _authorizes(item: Item) -> bool:
    """A row that brings its transaction's authorization: the Started of one begun
    authorized, or the update of one begun at plug-in."""
    if item.kind == UPDATE:
        return item.payload.get("event") == AUTHORIZED
    return item.kind == START and bool(item.payload.get("id_tag"))
