"""What a version adapter is, and the adapters by subprotocol.

The core (client, session, outbox, recorder, settings engine) speaks neutral terms; an
adapter turns them into one version's messages and handles that version's calls from the
CSMS. The client picks the adapter by the subprotocol the server chose, per connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ncpa.charging.tx_points import TxPoints
    from ncpa.energy.limits import Limit
    from ncpa.ocpp.context import OcppContext
    from ncpa.ocpp.outbox import Item
    from ncpa.ocpp.rpc import Dialect, RpcEndpoint, Transport
    from ncpa.ocpp.settings import OcppSettings


@dataclass(frozen=True)
class BootAnswer:
    status: str  # Accepted | Pending | Rejected
    interval: int
    current_time: str | None


@dataclass(frozen=True)
class Delivery:
    """The outcome of sending one outbox row: what the queue records."""

    remote_id: str | None = None  # the CSMS transaction id learnt from the answer
    id_tag_info: dict[str, Any] | None = None  # an id token's status in the answer
    seq_no: int | None = None  # the next transaction event number (2.0.1) once delivered


class Adapter(Protocol):
    subprotocol: str
    dialect: Dialect
    # CSMS calls answered {"status": "Rejected"} while the boot is Pending (remote start/stop)
    refused_while_pending: frozenset[str]

    def endpoint(self, ctx: OcppContext, transport: Transport) -> RpcEndpoint:
        """The RPC endpoint of one connection with this version's handlers."""
        ...

    def boot(self, ctx: OcppContext, reason: str) -> Any: ...
    def boot_answer(self, res: Any) -> BootAnswer: ...
    def heartbeat(self) -> Any: ...
    def authorize(self, id_tag: str) -> Any | None:
        """The Authorize call, None when this version cannot carry the id token."""
        ...

    def authorize_answer(self, res: Any) -> dict[str, Any]: ...
    def status(self, connector_id: int, status: str, error_code: str) -> Any: ...
    def meter_values(
        self, connector_id: int, meter_value: dict[str, Any], remote_id: str | None
    ) -> Any: ...
    def security_event(self, kind: str, timestamp: str, info: str) -> Any: ...
    def security_event_name(self, kind: str) -> str:
        """This version's name of a security event the log keeps (by its 1.6 name)."""
        ...

    def sign_certificate(self, csr: str) -> Any: ...
    def notification(self, kind: str, status: str, request_id: int | None) -> Any | None: ...
    def data_transfer(self, vendor_id: str, message_id: str | None, data: Any) -> dict[str, Any]:
        """The DataTransfer body as sent (camelCase, `data` verbatim: no key renaming)."""
        ...

    def data_transfer_answer(self, res: dict[str, Any]) -> dict[str, Any]:
        """{"status": ..., "data": ...} of a DataTransfer answer (as received)."""
        ...

    def charging_limit(
        self, connector_id: int, limit: Limit | None, before: str | None
    ) -> Any | None:
        """A local limit now constrains the connector (or, None, no longer does): the
        message that tells the CSMS (ncpa/ocpp/local_limits.py), None when none exists."""
        ...

    def outbox_call(self, ctx: OcppContext, item: Item) -> Any | None:
        """The call for a queued row (None: the row cannot be sent and is discarded)."""
        ...

    def outbox_answer(self, item: Item, res: Any) -> Delivery: ...
    def keeps_undelivered(self, item: Item) -> bool:
        """After its attempts, is this row kept (parked, retried at the next connection)
        rather than dropped? The version's queue rule."""
        ...

    def may_overtake(self, item: Item) -> bool:
        """May this queued row be sent while an older row waits for its retry?"""
        ...

    def triggers(self) -> frozenset[str]: ...
    def tx_points(self, settings: OcppSettings) -> TxPoints:
        """Where the charging core begins and ends transactions under this version."""
        ...


def transfer_body(vendor_id: str, message_id: str | None, data: Any) -> dict[str, Any]:
    """A DataTransfer request as both versions write it."""
    body: dict[str, Any] = {"vendorId": vendor_id}
    if message_id is not None:
        body["messageId"] = message_id
    if data is not None:
        body["data"] = data
    return body


def adapter_for(subprotocol: str | None) -> Adapter | None:
    """The adapter of a subprotocol, None when this agent has none."""
    if subprotocol == "ocpp1.6":
        from ncpa.ocpp.v16.adapter import V16Adapter

        return V16Adapter()
    if subprotocol == "ocpp2.0.1":
        from ncpa.ocpp.v201.adapter import V201Adapter

        return V201Adapter()
    return None


SUPPORTED = frozenset({"ocpp1.6", "ocpp2.0.1"})
