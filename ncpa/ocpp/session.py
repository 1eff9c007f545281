"""One websocket connection: boot, then heartbeat and the outbox pump. Imports no version.

The adapter of the subprotocol the server picked builds the messages and reads their
answers; the session owns the order: BootNotification until Accepted (only the CSMS's own
calls meanwhile), then the heartbeat and the durable outbox, one row at a time.

The session ends when the connection closes (or the client stops); the client
then reconnects with backoff. A queued message interrupted by the end of the
session stays in the outbox and is sent again, with the same message id.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ocpp.exceptions import OCPPError, ValidationError
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from ncpa import clock
from ncpa.log import get_logger
from ncpa.ocpp.adapter import Adapter, Delivery
from ncpa.ocpp.context import OcppContext
from ncpa.ocpp.outbox import STATUS, UPDATE, Item
from ncpa.ocpp.rpc import DROP
from ncpa.ocpp.tasks import cancel_all
from ncpa.ocpp.timeutil import parse_time_or_none

log = get_logger(__name__)

# what a failed call looks like: CallError, schema-invalid CallResult, no answer in time
CALL_FAILURES = (OCPPError, ValidationError, TimeoutError, TypeError, ValueError)
STATUS_ATTEMPTS = 2


class Session:
    def __init__(
        self,
        ctx: OcppContext,
        adapter: Adapter,
        ws: ClientConnection,
        on_accepted: Callable[[Session], Awaitable[None]],
        on_answered: Callable[[Item, Delivery], Awaitable[None]],
        boot_reason: str = "PowerUp",
    ) -> None:
        self.ctx = ctx
        self.adapter = adapter
        self.ws = ws
        self.rpc = adapter.endpoint(ctx, ws)
        self.rpc.admit = self._admit
        self.on_accepted = on_accepted
        self.on_answered = on_answered
        self.boot_reason = boot_reason
        self.registration = "Unknown"  # Accepted | Pending | Rejected after Boot
        self.accepted = asyncio.Event()
        self.heartbeat_changed = asyncio.Event()
        self.boot_now = asyncio.Event()  # TriggerMessage BootNotification while not accepted
        self.started = time.monotonic()

    async def call(self, payload: Any) -> Any:
        """Send a call now; raises on CallError, invalid CallResult or timeout."""
        return await self.rpc.call(payload)

    async def run(self) -> None:
        reader = asyncio.create_task(self.rpc.serve(), name="ocpp-recv")
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

    def _admit(self, action: str, payload: Any) -> dict[str, Any] | str | None:
        """What the CSMS may ask before it accepted us. Rejected: nothing is answered
        but a TriggerMessage for a BootNotification (B03, 1.6 4.2). Pending: the CSMS
        may read and change settings and trigger messages (B02.FR.01), but no remote
        start or stop runs before the station is accepted."""
        if self.registration == "Rejected":
            triggers_boot = (
                action == "TriggerMessage"
                and isinstance(payload, dict)
                and payload.get("requestedMessage") == "BootNotification"
            )
            return None if triggers_boot else DROP
        if self.registration == "Pending" and action in self.adapter.refused_while_pending:
            return {"status": "Rejected"}
        return None

    async def boot_once(self, reason: str | None = None) -> tuple[str, int] | None:
        """One BootNotification: (status, interval), or None when it failed."""
        payload = self.adapter.boot(self.ctx, reason or self.boot_reason)
        try:
            answer = self.adapter.boot_answer(await self.rpc.call(payload))
        except CALL_FAILURES as e:
            log.warning("ocpp.boot.failed", error=repr(e))
            return None
        status, interval = answer.status, answer.interval
        csms_time = parse_time_or_none(answer.current_time)
        clock.offer_csms_time(csms_time)  # the time source when NTP has not synchronized
        skew = round(time.time() - csms_time, 1) if csms_time is not None else None
        log.info("ocpp.boot", status=status, interval=interval, clock_skew_s=skew)
        if status == "Accepted" and interval > 0:
            await self.ctx.settings.change("HeartbeatInterval", str(interval))
        return status, interval

    async def _boot(self) -> None:
        while True:
            self.boot_now.clear()  # before the call: a trigger during it must not be lost
            answer = await self.boot_once()
            if answer is None:
                await asyncio.sleep(self.ctx.options.boot_retry)
                continue
            self.registration, interval = answer
            if self.registration == "Accepted":
                break
            # Pending: the CSMS may talk to us meanwhile; Rejected: keep quiet. Then retry
            # (at once if the CSMS triggers a BootNotification).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self.boot_now.wait(),
                    interval if interval > 0 else self.ctx.options.boot_retry,
                )
        self.accepted.set()
        await self.on_accepted(self)

    # -- heartbeat ---------------------------------------------------------------

    async def _heartbeat(self) -> None:
        while True:
            interval = self.ctx.settings.get_int("HeartbeatInterval")
            self.heartbeat_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self.heartbeat_changed.wait(), interval if interval > 0 else None
                )
                continue  # interval changed: start over with the new one
            await self.heartbeat()

    async def heartbeat(self) -> None:
        try:
            res = await self.rpc.call(self.adapter.heartbeat())
        except CALL_FAILURES as e:
            log.warning("ocpp.heartbeat.failed", error=repr(e))
            return
        csms_time = parse_time_or_none(res.current_time)
        if csms_time is not None and abs(csms_time - time.time()) > 5:
            log.warning("ocpp.clock_skew", seconds=round(time.time() - csms_time, 1))

    # -- the outbox ----------------------------------------------------------------

    async def _pump(self) -> None:
        outbox = self.ctx.outbox
        await outbox.retry_parked()  # a new connection: rows kept undelivered get a new try
        while True:
            outbox.changed.clear()
            item = await outbox.head()
            if item is None:
                # idle: rows kept undelivered get a new try now and then on a stable line too
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(outbox.changed.wait(), self.parked_retry())
                    continue
                await outbox.retry_parked()
                continue
            wait = item.next_try_ts - time.time()
            if wait > 0:
                # the head waits for its retry: rows this version lets overtake it go now
                ahead = [i for i in await outbox.due_after(item.seq, STATUS) if
                         self.adapter.may_overtake(i)]  # fmt: skip
                if ahead:
                    await self.deliver(ahead[0])
                    continue
                with contextlib.suppress(TimeoutError):
                    # a new row may be due sooner (a status that replaced the head)
                    await asyncio.wait_for(outbox.changed.wait(), wait)
                continue
            await self.deliver(item)

    def parked_retry(self) -> float:
        """Seconds between two tries of the parked rows while the queue is idle: as long
        as a row's own attempts took (TransactionMessageRetryInterval x attempts), 5 s
        at least."""
        settings = self.ctx.settings
        attempts = settings.get_int("TransactionMessageAttempts")
        return max(5.0, settings.get_int("TransactionMessageRetryInterval") * attempts)

    async def deliver(self, item: Item) -> None:
        ctx = self.ctx
        outbox = ctx.outbox
        if self.adapter.keeps_undelivered(item) and await outbox.park_behind(item):
            return  # an older event of its transaction is parked: it waits behind it
        payload = self.adapter.outbox_call(ctx, item)
        if payload is None:
            if item.kind in (STATUS, UPDATE):
                # a status this version has no message for (2.0.1: connector 0, the station),
                # or a moment of a transaction it does not tell (1.6: an update row)
                await outbox.discard(item, "no such message in this version", expected=True)
                return
            # this version cannot send it (a 1.6 message of a transaction whose Start was
            # dropped or went out under 2.0.1: the CSMS never learnt an id it can use)
            await outbox.discard(item, "not sendable: no CSMS transaction id of this version")
            return
        try:
            res = await self.rpc.call(payload, unique_id=item.unique_id)
        except CALL_FAILURES as e:
            log.warning("ocpp.outbox.call_failed", action=item.action, tx=item.tx_id, error=repr(e))
            keep = self.adapter.keeps_undelivered(item)
            if item.kind == STATUS and not keep:
                # a status is not a transaction message: a CSMS that refuses it twice loses it
                await outbox.failed(item, STATUS_ATTEMPTS, 1)
                return
            settings = ctx.settings
            await outbox.failed(
                item,
                settings.get_int("TransactionMessageAttempts"),
                settings.get_int("TransactionMessageRetryInterval"),
                park=keep,
            )
            return
        delivery = self.adapter.outbox_answer(item, res)
        await outbox.delivered(item, delivery.remote_id, delivery.seq_no)
        if item.kind != STATUS:
            await self.on_answered(item, delivery)
