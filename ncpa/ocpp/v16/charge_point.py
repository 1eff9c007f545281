"""The OCPP 1.6J charge point: the ocpp library's ChargePoint with our handler mixins."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from ocpp.v16 import ChargePoint as _LibChargePoint
from websockets.asyncio.client import ClientConnection

from ncpa.log import get_logger
from ncpa.ocpp.v16.core import CoreHandlers
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
    _LibChargePoint,  # type: ignore[misc]  # the ocpp library is untyped
):
    def __init__(self, client: OcppClient, ws: ClientConnection) -> None:
        self.client = client
        self._after: list[Coroutine[Any, Any, None]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        super().__init__(client.options.charge_point_id, ws, client.options.call_timeout)

    async def route_message(self, raw_msg: str) -> None:
        try:
            await super().route_message(raw_msg)
        finally:
            after, self._after = self._after, []
            for coro in after:
                task = asyncio.create_task(coro)
                self._tasks.add(task)
                task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("ocpp.after_reply_failed", error=repr(task.exception()))
