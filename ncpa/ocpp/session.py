"""One websocket connection: boot, then heartbeat, status, the outbox and aligned meter values.

The session ends when the connection closes (or the client stops); the client
then reconnects with backoff. A queued message interrupted by the end of the
session stays in the outbox and is sent again, with the same message id.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

from ocpp.exceptions import OCPPError, ValidationError
from ocpp.v16 import call
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from ncpa import clock
from ncpa.log import get_logger
from ncpa.ocpp.outbox import METER, START, STATUS, Item
from ncpa.ocpp.tasks import cancel_all
from ncpa.ocpp.timeutil import parse_time_or_none
from ncpa.ocpp.v16.charge_point import ChargePoint

if TYPE_CHECKING:
    from ncpa.ocpp.client import OcppClient

log = get_logger(__name__)

# what a failed call looks like: CallError, schema-invalid CallResult, no answer in time
CALL_FAILURES = (OCPPError, ValidationError, TimeoutError, TypeError, ValueError)
STATUS_ATTEMPTS = 2


class Session:
    def __init__(self, client: OcppClient, ws: ClientConnection) -> None:
        self.client = client
        self.ws = ws
        self.cp = ChargePoint(client, ws)
        self.registration = "Unknown"  # Accepted | Pending | Rejected after Boot
        self.accepted = asyncio.Event()
        self.heartbeat_changed = asyncio.Event()
        self.boot_now = asyncio.Event()  # TriggerMessage BootNotification while not accepted
        self.started = time.monotonic()

    async def call(self, payload: Any) -> Any:
        """Send a call now; raises on CallError, invalid CallResult or timeout."""
        return await self.cp.call(payload)

    async def run(self) -> None:
        reader = asyncio.create_task(self.cp.start(), name="ocpp-recv")
        boot = asyncio.create_task(self._boot(), name="ocpp-boot")
        workers: list[asyncio.Task[None]] = []
        try:
            done, _ = await asyncio.wait({reader, boot}, return_when=asyncio.FIRST_COMPLETED)
            if boot in done and boot.exception() is None:
                workers = [
                    asyncio.create_task(self._heartbeat(), name="ocpp-heartbeat"),
                    asyncio.create_task(self._pump(), name="ocpp-outbox"),
                ]
                await asyncio.wait({reader, *workers}, return_when=asyncio.FIRST_COMPLETED)
            for task in (reader, boot, *workers):
                if task.done() and not task.cancelled() and task.exception() is not None:
                    exc = task.exception()
                    if not isinstance(exc, ConnectionClosed):
                        log.error("ocpp.session.task_failed", task=task.get_name(), error=repr(exc))
        finally:
            await cancel_all(reader, boot, *workers)
            await self.ws.close()

    # -- boot --------------------------------------------------------------------

    async def boot_once(self) -> tuple[str, int] | None:
        """One BootNotification: (status, interval), or None when it failed."""
        st = self.client.station.config.station
        payload = call.BootNotification(
            charge_point_model=st.model[:20],
            charge_point_vendor=st.vendor[:20],
            charge_point_serial_number=st.serial[:25],
            firmware_version=self.client.firmware_version[:50],
        )
        try:
            res = await self.cp.call(payload)
        except CALL_FAILURES as e:
            log.warning("ocpp.boot.failed", error=repr(e))
            return None
        status, interval = str(res.status), int(res.interval)
        csms_time = parse_time_or_none(res.current_time)
        clock.offer_csms_time(csms_time)  # the time source when NTP has not synchronized
        skew = round(time.time() - csms_time, 1) if csms_time is not None else None
        log.info("ocpp.boot", status=status, interval=interval, clock_skew_s=skew)
        if status == "Accepted" and interval > 0:
            await self.client.settings.change("HeartbeatInterval", str(interval))
        return status, interval

    async def _boot(self) -> None:
        while True:
            self.boot_now.clear()  # before the call: a trigger during it must not be lost
            answer = await self.boot_once()
            if answer is None:
                await asyncio.sleep(self.client.options.boot_retry)
                continue
            self.registration, interval = answer
            if self.registration == "Accepted":
                break
            # Pending: the CSMS may talk to us meanwhile; Rejected: keep quiet. Then retry
            # (at once if the CSMS triggers a BootNotification).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self.boot_now.wait(),
                    interval if interval > 0 else self.client.options.boot_retry,
                )
        self.accepted.set()
        await self.client.session_accepted(self)

    # -- heartbeat ---------------------------------------------------------------

    async def _heartbeat(self) -> None:
        while True:
            interval = self.client.settings.get_int("HeartbeatInterval")
            self.heartbeat_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self.heartbeat_changed.wait(), interval if interval > 0 else None
                )
                continue  # interval changed: start over with the new one
            await self.heartbeat()

    async def heartbeat(self) -> None:
        try:
            res = await self.cp.call(call.Heartbeat())
        except CALL_FAILURES as e:
            log.warning("ocpp.heartbeat.failed", error=repr(e))
            return
        csms_time = parse_time_or_none(res.current_time)
        if csms_time is not None and abs(csms_time - time.time()) > 5:
            log.warning("ocpp.clock_skew", seconds=round(time.time() - csms_time, 1))

    # -- the outbox ----------------------------------------------------------------

    async def _pump(self) -> None:
        outbox = self.client.outbox
        while True:
            outbox.changed.clear()
            item = await outbox.head()
            if item is None:
                await outbox.changed.wait()
                continue
            wait = item.next_try_ts - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            await self.deliver(item)

    async def _deliver_status(self, item: Item, payload: dict[str, Any]) -> None:
        """A status is not a transaction message: a CSMS that refuses it twice loses it."""
        try:
            await self.cp.call(call.StatusNotification(**payload), unique_id=item.unique_id)
        except CALL_FAILURES as e:
            log.warning("ocpp.status.failed", connector=payload.get("connector_id"), error=repr(e))
            await self.client.outbox.failed(item, STATUS_ATTEMPTS, 1)
            return
        await self.client.outbox.delivered(item)

    async def deliver(self, item: Item) -> None:
        client = self.client
        outbox = client.outbox
        payload = dict(item.payload)
        if item.kind == STATUS:
            await self._deliver_status(item, payload)
            return
        if item.kind != START:
            if item.remote_id is None:
                # the Start was dropped (attempts used up): the CSMS cannot know this transaction
                await outbox.discard(item, "no CSMS transaction id")
                return
            payload["transaction_id"] = item.remote_id
        try:
            res = await self.cp.call(
                getattr(call, item.action)(**payload), unique_id=item.unique_id
            )
        except CALL_FAILURES as e:
            log.warning("ocpp.outbox.call_failed", action=item.action, tx=item.tx_id, error=repr(e))
            settings = client.settings
            await outbox.failed(
                item,
                settings.get_int("TransactionMessageAttempts"),
                settings.get_int("TransactionMessageRetryInterval"),
            )
            return
        remote_id = int(res.transaction_id) if item.kind == START else None
        await outbox.delivered(item, remote_id)
        if item.kind != METER:
            await client.transaction_answered(item, res, remote_id)
