"""Events that the charging core emits, and the bus that carries them.

The core publishes; OCPP, the local API and the journal subscribe. A
subscriber is a plain callable, called synchronously in publish order: it must
not block (hand work to a task or a queue if it needs I/O).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from hal.meter import MeterReading


@dataclass(frozen=True, slots=True)
class StatusChanged:
    connector_id: int
    status: str  # ConnectorStatus value
    error_code: str  # OCPP-style error code, "NoError" when none
    info: str = ""


@dataclass(frozen=True, slots=True)
class TransactionStarted:
    connector_id: int
    transaction_id: int  # local id
    id_tag: str
    meter_start_wh: float
    timestamp: float
    reservation_id: int | None = None
    ev_connected: bool = True  # False: begun at the authorization, the EV not there yet


@dataclass(frozen=True, slots=True)
class TransactionStopped:
    connector_id: int
    transaction_id: int
    id_tag: str
    meter_stop_wh: float
    timestamp: float
    reason: str  # OCPP 1.6 Reason: Local, Remote, EVDisconnected, PowerLoss, ...
    stop_id_tag: str | None = None


@dataclass(frozen=True, slots=True)
class TransactionAuthorized:
    """An open transaction that began before authorization (tx_points.start_on_connect)
    is authorized now; `id_tag` is also the record's from here on."""

    connector_id: int
    transaction_id: int
    id_tag: str
    timestamp: float


@dataclass(frozen=True, slots=True)
class TransactionEvConnected:
    """The EV of a transaction begun at its authorization (tx_points.start_on_authorize)
    is connected now."""

    connector_id: int
    transaction_id: int
    timestamp: float


@dataclass(frozen=True, slots=True)
class TransactionDeauthorized:
    """A stop that does not end the transaction (tx_points.stop_on_deauthorize False): power
    is off, the transaction ends when the EV unplugs."""

    connector_id: int
    transaction_id: int
    reason: str  # a StopReason: Local, Remote, DeAuthorized
    id_tag: str | None
    timestamp: float


@dataclass(frozen=True, slots=True)
class MeterSample:
    connector_id: int
    reading: MeterReading
    transaction_id: int | None
    offered_a: float  # current offered on the pilot at the time


@dataclass(frozen=True, slots=True)
class LimitChanged:
    connector_id: int
    amps: float
    source: str


@dataclass(frozen=True, slots=True)
class CardPresented:
    uid: str


@dataclass(frozen=True, slots=True)
class AuthorizationDecided:
    id_tag: str
    status: str  # Accepted | Blocked | Expired | Invalid | ConcurrentTx
    source: str  # plugncharge | whitelist | cache | csms | offline | remote


@dataclass(frozen=True, slots=True)
class ReservationEnded:
    """A connector's reservation is over. reason: used (its session began), expired,
    cancelled (by the CSMS or the API), replaced (the same id reserved again), removed
    (the connector faulted or became inoperative, so it cannot hold it)."""

    connector_id: int
    reservation_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class FaultChanged:
    connector_id: int
    fault: str
    active: bool


@dataclass(frozen=True, slots=True)
class SafetyAction:
    """Something the interlock did on its own: shunt trip, forced open."""

    connector_id: int
    action: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ChargingModeChanged:
    """The charging mode (FAST, SOLAR, SOLAR_MIN) or its state (following, hold, ...)."""

    mode: str
    state: str


E = TypeVar("E")
Handler = Callable[[Any], None]


class EventBus:
    def __init__(self) -> None:
        self._subs: list[tuple[type | None, Handler]] = []

    def subscribe(self, handler: Handler, kind: type | None = None) -> Callable[[], None]:
        """Call handler(event) for each event (of `kind`, if given). Returns an unsubscribe."""
        entry = (kind, handler)
        self._subs.append(entry)
        return lambda: self._subs.remove(entry) if entry in self._subs else None

    def publish(self, event: object) -> None:
        for kind, handler in list(self._subs):
            if kind is None or isinstance(event, kind):
                handler(event)
