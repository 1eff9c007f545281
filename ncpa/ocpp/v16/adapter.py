"""OCPP 1.6J over the neutral core: the messages we send and what their answers mean.

The queue's rows are neutral (ncpa/ocpp/tx_events.py); a 1.6 transaction message needs
the CSMS's integer transaction id, known once StartTransaction is answered.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ocpp.v16 import call

from ncpa.charging.tx_points import DEFAULT as DEFAULT_TX_POINTS
from ncpa.charging.tx_points import TxPoints
from ncpa.log import get_logger
from ncpa.ocpp.adapter import BootAnswer, Delivery, transfer_body
from ncpa.ocpp.outbox import METER, START, STATUS, STOP, UPDATE, Item
from ncpa.ocpp.rpc import RpcEndpoint, Transport
from ncpa.ocpp.tx_events import fields
from ncpa.ocpp.v16.dialect import V16
from ncpa.ocpp.v16.remote_trigger import TRIGGERS

if TYPE_CHECKING:
    from ncpa.ocpp.context import OcppContext
    from ncpa.ocpp.settings import OcppSettings

log = get_logger(__name__)

# 1.6's Reason enumeration (StopTransaction.req)
REASONS = frozenset(
    {
        "DeAuthorized",
        "EmergencyStop",
        "EVDisconnected",
        "HardReset",
        "Local",
        "Other",
        "PowerLoss",
        "Reboot",
        "Remote",
        "SoftReset",
        "UnlockCommand",
    }
)

ID_TAG_LEN = 20  # CiString20: the idTag of 1.6


class V16Adapter:
    refused_while_pending = frozenset({"RemoteStartTransaction", "RemoteStopTransaction"})
    subprotocol = "ocpp1.6"
    dialect = V16

    def endpoint(self, ctx: OcppContext, transport: Transport) -> RpcEndpoint:
        from ncpa.ocpp.v16.charge_point import ChargePoint

        ctx.auth.version = "1.6"  # the cache's 1.6 rules (no AuthCacheLifeTime)
        return ChargePoint(ctx).endpoint(transport, V16)

    def boot(self, ctx: OcppContext, reason: str) -> Any:
        st = ctx.station.config.station
        return call.BootNotification(
            charge_point_model=st.model[:20],
            charge_point_vendor=st.vendor[:20],
            charge_point_serial_number=st.serial[:25],
            firmware_version=ctx.firmware_version[:50],
        )

    def boot_answer(self, res: Any) -> BootAnswer:
        return BootAnswer(str(res.status), int(res.interval), res.current_time)

    def heartbeat(self) -> Any:
        return call.Heartbeat()

    def authorize(self, id_tag: str) -> Any:
        if len(id_tag) > ID_TAG_LEN:
            # 1.6 cannot carry it (a 2.0.1 IdToken of up to 36): the CSMS cannot be asked
            log.info("ocpp.authorize.id_too_long", length=len(id_tag), max=ID_TAG_LEN)
            return None
        return call.Authorize(id_tag=id_tag)

    def authorize_answer(self, res: Any) -> dict[str, Any]:
        return dict(res.id_tag_info)

    def status(self, connector_id: int, status: str, error_code: str) -> Any:
        return call.StatusNotification(
            connector_id=connector_id, error_code=error_code, status=status
        )

    def meter_values(
        self, connector_id: int, meter_value: dict[str, Any], remote_id: str | None
    ) -> Any:
        tx = int(remote_id) if remote_id is not None else None
        return call.MeterValues(
            connector_id=connector_id, meter_value=[meter_value], transaction_id=tx
        )

    def security_event_name(self, kind: str) -> str:
        return kind  # the log keeps 1.6's names

    def security_event(self, kind: str, timestamp: str, info: str) -> Any:
        return call.SecurityEventNotification(
            type=kind, timestamp=timestamp, tech_info=info or None
        )

    def sign_certificate(self, csr: str) -> Any:
        return call.SignCertificate(csr=csr)

    def data_transfer(self, vendor_id: str, message_id: str | None, data: Any) -> dict[str, Any]:
        # 1.6 carries data as text: anything else travels as its JSON
        text = data if isinstance(data, str) or data is None else json.dumps(data)
        return transfer_body(vendor_id, message_id, text)

    def data_transfer_answer(self, res: dict[str, Any]) -> dict[str, Any]:
        return {"status": str(res["status"]), "data": res.get("data")}

    def notification(self, kind: str, status: str, request_id: int | None) -> Any | None:
        if kind == "firmware":
            if request_id is not None:
                return call.SignedFirmwareStatusNotification(status=status, request_id=request_id)
            return call.FirmwareStatusNotification(status=status)
        if kind == "diagnostics":
            return call.DiagnosticsStatusNotification(status=status)
        if kind == "log" and request_id is not None:
            return call.LogStatusNotification(status=status, request_id=request_id)
        return None

    def charging_limit(self, connector_id: int, limit: Any, before: str | None) -> Any | None:
        return None  # 1.6 has no message for a local limit

    def outbox_call(self, ctx: OcppContext, item: Item) -> Any | None:
        payload = fields(item.payload)
        if item.kind == STATUS:
            return call.StatusNotification(**payload)
        if item.kind == UPDATE:
            return None  # 1.6 tells no authorization or stop within a transaction
        for key in ("id_tag",):
            tag = payload.get(key)
            if isinstance(tag, str) and len(tag) > ID_TAG_LEN:
                # an id token of 2.0.1 length, queued then sent under 1.6: its CiString20
                log.warning("ocpp.id_tag.cut", tx=item.tx_id, length=len(tag))
                payload[key] = tag[:ID_TAG_LEN]
        if item.kind == START:
            return call.StartTransaction(**payload)
        if item.remote_id is None or not item.remote_id.lstrip("-").isdigit():
            # the Start was dropped, or it went out under 2.0.1 (our own text id): a 1.6
            # CSMS cannot know this transaction
            return None
        payload["transaction_id"] = int(item.remote_id)
        if item.kind == STOP:
            if payload.get("reason") not in REASONS:
                payload["reason"] = "Other"  # a neutral reason 1.6 lacks (Timeout)
            return call.StopTransaction(**payload)
        assert item.kind == METER
        return call.MeterValues(**payload)

    def outbox_answer(self, item: Item, res: Any) -> Delivery:
        info = getattr(res, "id_tag_info", None)
        remote = str(int(res.transaction_id)) if item.kind == START else None
        return Delivery(remote_id=remote, id_tag_info=dict(info) if info else None)

    def keeps_undelivered(self, item: Item) -> bool:
        # 1.6 (section 4.10): after TransactionMessageAttempts the message is dropped
        return False

    def may_overtake(self, item: Item) -> bool:
        return False  # one ordered pipe: a status never overtakes a transaction message

    def triggers(self) -> frozenset[str]:
        return TRIGGERS

    def tx_points(self, settings: OcppSettings) -> TxPoints:
        return DEFAULT_TX_POINTS  # 1.6's: authorized and connected, ends when either ends
