"""What the OCPP client needs from the charging core (ncpa.charging.station.ChargingStation).

A structural type, so that this package states its dependency in one place; the
real ChargingStation satisfies it. The client never touches hardware: every
remote command becomes one of these calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from ncpa.charging.authorization import AuthResult, RemoteAuthorize
from ncpa.config import Config
from ncpa.energy.limits import CurrentLimits
from ncpa.events import EventBus
from ncpa.store import Store, WhitelistEntry


class AuthorizerPort(Protocol):
    local_pre_authorize: bool
    remote: RemoteAuthorize | None

    async def authorize(self, id_tag: str) -> AuthResult: ...

    async def cards(self) -> list[WhitelistEntry]: ...
    async def card(self, token: str) -> WhitelistEntry | None: ...
    async def add_card(self, entry: WhitelistEntry) -> None: ...
    async def delete_card(self, token: str) -> bool: ...
    async def replace_cards(self, entries: Iterable[WhitelistEntry]) -> None: ...


class ViewPort(Protocol):
    @property
    def connector_id(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def error_code(self) -> str: ...
    @property
    def transaction(self) -> Any: ...  # ncpa.store.TransactionRecord | None
    @property
    def last_reading(self) -> Any: ...  # hal.meter.MeterReading | None
    @property
    def offered_a(self) -> float: ...


class StationPort(Protocol):
    config: Config
    store: Store
    bus: EventBus
    limits: CurrentLimits
    connector_ids: list[int]

    @property
    def authorizer(self) -> AuthorizerPort: ...

    async def remote_start(self, id_tag: str, connector_id: int | None = None) -> bool: ...
    async def stop_transaction(
        self, transaction_id: int, reason: str = "Remote", id_tag: str | None = None
    ) -> bool: ...
    async def stop_connector(
        self, connector_id: int, reason: str, id_tag: str | None = None
    ) -> bool: ...
    async def unlock(self, connector_id: int) -> str: ...
    async def set_operative(self, connector_id: int, operative: bool) -> str: ...
    async def reserve(
        self,
        reservation_id: int,
        connector_id: int,
        id_tag: str,
        expiry_ts: float,
        parent_id_tag: str | None = None,
    ) -> str: ...
    async def cancel_reservation(self, reservation_id: int) -> bool: ...
    async def shutdown_sessions(self, reason: str) -> None: ...
    def view(self, connector_id: int) -> Any: ...  # ConnectorView
    def views(self) -> list[Any]: ...
