"""What the CSMS learns when a reservation ends on its own: expired, or removed because
its connector faulted or became inoperative (2.0.1 ReservationStatusUpdate, H04; 1.6 has
no such message, its adapter sends nothing).

A reservation that ends through the CSMS (CancelReservation, a new ReserveNow with the
same id) or through its use (the session began) is not told: the CSMS knows. Notices
that end offline wait, in memory and bounded, for the next accepted connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable

from ncpa.events import EventBus, ReservationEnded
from ncpa.log import get_logger

log = get_logger(__name__)

MAX_PENDING = 64  # notices kept while offline; the oldest are dropped beyond
# ReservationEnded.reason -> the status the CSMS is told
TOLD = {"expired": "Expired", "removed": "Removed"}

# (reservation id, status) -> True when done with it (sent, failed, or nothing to send in
# this version), False when there is no connection to send it on (kept)
Send = Callable[[int, str], Awaitable[bool]]


class ReservationNotices:
    def __init__(self, bus: EventBus, send: Send) -> None:
        self.bus = bus
        self.send = send
        self.pending: deque[tuple[int, str]] = deque(maxlen=MAX_PENDING)
        self._unsubscribe: Callable[[], None] | None = None
        self._task: asyncio.Task[None] | None = None

    def attach(self) -> None:
        self._unsubscribe = self.bus.subscribe(self._ended, ReservationEnded)

    async def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

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
                return  # offline: kept for the next connection
            if self.pending and self.pending[0] == (reservation_id, status):
                self.pending.popleft()
            log.info("ocpp.reservation_notice", reservation=reservation_id, status=status)
