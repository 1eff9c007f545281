"""What the CSMS learns when a reservation ends on its own: expired, or removed because
its connector faulted or became inoperative (2.0.1 ReservationStatusUpdate, H04; 1.6 has
no such message, its adapter sends nothing).

A reservation that ends through the CSMS (CancelReservation, a new ReserveNow with the
same id) or through its use (the session began) is not told: the CSMS knows. Notices
that end offline wait, bounded and in the store (a restart keeps them), for the next
accepted connection. The client attaches this before the station starts, so a
reservation that expired while the agent was down (ended at start-up) is told too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable

from ncpa.events import EventBus, ReservationEnded
from ncpa.log import get_logger
from ncpa.store import Store

log = get_logger(__name__)

MAX_PENDING = 64  # notices kept while offline; the oldest are dropped beyond
STORE_KEY = "ocpp.reservation_notices"
# ReservationEnded.reason -> the status the CSMS is told
TOLD = {"expired": "Expired", "removed": "Removed"}

# (reservation id, status) -> True when done with it (sent, failed, or nothing to send in
# this version), False when there is no connection to send it on (kept)
Send = Callable[[int, str], Awaitable[bool]]


class ReservationNotices:
    def __init__(self, bus: EventBus, send: Send, store: Store) -> None:
        self.bus = bus
        self.send = send
        self.store = store
        self.pending: deque[tuple[int, str]] = deque(maxlen=MAX_PENDING)
        self._loaded = False  # the stored notices are in `pending` (only then is it saved)
        self._unsubscribe: Callable[[], None] | None = None
        self._task: asyncio.Task[None] | None = None

    def attach(self) -> None:
        self._unsubscribe = self.bus.subscribe(self._ended, ReservationEnded)

    async def load(self) -> None:
        """The notices a previous run could not send, before those of this one."""
        stored = await self.store.get_setting(STORE_KEY)
        earlier: list[tuple[int, str]] = []
        if isinstance(stored, list):
            for entry in stored:
                with contextlib.suppress(TypeError, ValueError):
                    reservation_id, status = entry
                    if status in TOLD.values():
                        earlier.append((int(reservation_id), str(status)))
        caught = [p for p in self.pending if p not in earlier]
        self.pending = deque([*earlier, *caught], maxlen=MAX_PENDING)
        self._loaded = True
        await self._save()
        self.kick()

    async def _save(self) -> None:
        if self._loaded:
            await self.store.set_setting(STORE_KEY, [list(p) for p in self.pending])

    async def detach(self) -> None:
        attached = self._unsubscribe is not None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if attached:  # once: a second stop() finds the store closed
            await self._save()  # the cancel may have cut the flush's own save short

    def _ended(self, ev: ReservationEnded) -> None:
        status = TOLD.get(ev.reason)
        if status is None:
            return
        if len(self.pending) == self.pending.maxlen:
            log.warning("ocpp.reservation_notice.dropped", reservation=self.pending[0][0])
        self.pending.append((ev.reservation_id, status))
        self.kick()

    def kick(self) -> None:
        """Send what waits (after a new notice, and once a connection is accepted)."""
        if self.pending and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        while self.pending:
            reservation_id, status = self.pending[0]
            try:
                done = await self.send(reservation_id, status)
            except Exception:  # a notice must not take the client down
                log.exception("ocpp.reservation_notice.failed", reservation=reservation_id)
                done = True
            if not done:
                await self._save()
                return  # offline: kept for the next connection
            if self.pending and self.pending[0] == (reservation_id, status):
                self.pending.popleft()
            await self._save()
            log.info("ocpp.reservation_notice", reservation=reservation_id, status=status)
