"""The OCPP 1.6J charge point: our handler mixins over the version-neutral RPC endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from ocpp.routing import create_route_map
from websockets.asyncio.client import ClientConnection

from ncpa.log import get_logger
from ncpa.ocpp.rpc import RpcEndpoint
from ncpa.ocpp.v16.core import CoreHandlers
from ncpa.ocpp.v16.dialect import V16
from ncpa.ocpp.v16.firmware import FirmwareHandlers
from ncpa.ocpp.v16.local_list import LocalListHandlers
from ncpa.ocpp.v16.remote_trigger import TriggerHandlers
from ncpa.ocpp.v16.reservation import ReservationHandlers
from ncpa.ocpp.v16.security import SecurityHandlers
from ncpa.ocpp.v16.smart_charging import SmartChargingHandlers

if TYPE_CHECKING:
    from ncpa.ocpp.client import OcppClient

log = get_logger(__name__)


class ChargePoint(
    CoreHandlers,
    LocalListHandlers,
    ReservationHandlers,
    TriggerHandlers,
    SmartChargingHandlers,
    FirmwareHandlers,
    SecurityHandlers,
):
    def __init__(self, client: OcppClient, ws: ClientConnection) -> None:
        self.client = client
        self._after: list[Coroutine[Any, Any, None]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.rpc = RpcEndpoint(
            ws,
            V16,
            create_route_map(self),
            client.options.call_timeout,
            trace=client.frame_trace,
            replied=self._replied,
        )

    async def start(self) -> None:
        await self.rpc.serve()

    async def call(self, payload: Any, unique_id: str | None = None) -> Any:
        return await self.rpc.call(payload, unique_id)

    def _replied(self, ok: bool) -> None:
        """The answer is out: run the work the handler left for after it (not after a
        CallError: the call changed nothing)."""
        after, self._after = self._after, []
        for coro in after:
            if not ok:
                coro.close()
                continue
            task = asyncio.create_task(coro)
            self._tasks.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("ocpp.after_reply_failed", error=repr(task.exception()))
