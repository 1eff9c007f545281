"""What the OCPP client needs from the charging core, and nothing more.

`ncpa.charging.station.ChargingStation` is the implementation; the Protocol is the
boundary: OCPP calls these, the core knows no OCPP names (neutral statuses, stop
reasons and id tokens; the adapters translate).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from hal.board import Board
    from ncpa.charging.authorization import Authorizer
    from ncpa.charging.connector import ConnectorView
    from ncpa.charging.reservation import Reservation
    from ncpa.charging.states import LockMode
    from ncpa.config import Config
    from ncpa.energy.limits import CurrentLimits
    from ncpa.events import EventBus
    from ncpa.store import Store


class StationPort(Protocol):
    config: Config
    store: Store
    bus: EventBus
    board: Board
    authorizer: Authorizer
    limits: CurrentLimits
    connection_timeout: float
    connector_ids: list[int]

    @property
    def lock_mode(self) -> LockMode: ...
    @property
    def plugncharge_tag(self) -> str: ...

    def view(self, connector_id: int) -> ConnectorView: ...
    def views(self) -> list[ConnectorView]: ...
    def note_remote_id(self, transaction_id: int, remote_id: str) -> None: ...
    async def remote_start(
        self, id_tag: str, connector_id: int | None = None, parent_id_tag: str | None = None
    ) -> bool: ...
    async def stop_transaction(
        self, transaction_id: int, reason: str = "Remote", id_tag: str | None = None
    ) -> bool: ...
    async def stop_connector(
        self, connector_id: int, reason: str, id_tag: str | None = None
    ) -> bool: ...
    async def shutdown_sessions(self, reason: str) -> None: ...
    async def unlock(self, connector_id: int) -> str: ...
    async def set_operative(self, connector_id: int, operative: bool) -> str: ...
    async def hold(self, connector_ids: list[int], on: bool) -> None: ...
    async def reserve(
        self,
        reservation_id: int,
        connector_id: int,
        id_tag: str,
        expiry_ts: float,
        parent_id_tag: str | None = None,
    ) -> str: ...
    async def cancel_reservation(self, reservation_id: int) -> bool: ...
    def reservation(self, connector_id: int) -> Reservation | None: ...
