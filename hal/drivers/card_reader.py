"""Common part of the serial RFID readers: port life cycle, debouncing, fan-out.

A card held on the reader is seen again at every poll (PN532) or every repeated frame
(RDM6300); it is reported once per presentation: again only after it has been away
for `release` seconds, or at once when another card comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from hal.drivers.broadcast import Broadcast
from hal.drivers.serial_port import close_writer, open_serial, reopen_serial
from hal.errors import DeviceError
from ncpa.log import get_logger

log = get_logger(__name__)


class CardDebouncer:
    def __init__(self, release: float) -> None:
        self.release = release
        self._uid = ""
        self._last = 0.0

    def seen(self, uid: str, now: float) -> bool:
        """True when this sighting is a new presentation."""
        new = uid != self._uid or now - self._last > self.release
        self._uid, self._last = uid, now
        return new


class SerialCardReader:
    """Base of hal.rfid.RfidReader drivers on a serial port; subclasses speak the protocol
    in `_session`, which returns or raises when the link is broken (then the port is
    reopened after `retry` seconds)."""

    kind = "rfid"

    def __init__(self, port: str, baudrate: int, release: float = 1.0, retry: float = 1.0) -> None:
        self.port = port
        self.baudrate = baudrate
        self.retry = retry
        self.healthy = False
        self.version = ""
        self._debounce = CardDebouncer(release)
        self._cards: Broadcast[str] = Broadcast(replay=False)
        self._task: asyncio.Task[None] | None = None
        self.closing = False  # loops end on this even if a cancellation got lost

    def cards(self) -> AsyncIterator[str]:
        return self._cards.subscribe()

    async def start(self) -> None:
        reader, writer = await open_serial(self.port, self.baudrate)
        self._task = asyncio.create_task(self._run(reader, writer), name=f"{self.kind} {self.port}")

    async def close(self) -> None:
        self.closing = True
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _detected(self, uid: str) -> None:
        if self._debounce.seen(uid, time.monotonic()):
            log.info("rfid.card", reader=self.kind, uid=uid)
            self._cards.publish(uid)

    async def _run(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while not self.closing:
            try:
                await self._session(reader, writer)
            except (DeviceError, OSError, asyncio.IncompleteReadError) as e:
                log.warning("rfid.link_lost", reader=self.kind, port=self.port, error=str(e))
            except Exception:
                # a bug in a protocol handler must not leave the charger without a reader
                log.exception("rfid.reader_failed", reader=self.kind, port=self.port)
            finally:
                self.healthy = False
                await close_writer(writer)
            again = await reopen_serial(self.port, self.baudrate, self.retry, lambda: self.closing)
            if again is None:
                return
            reader, writer = again

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError
