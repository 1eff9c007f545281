"""Base for the device emulators of the tests: a pty whose far end the driver opens.

The emulator owns the pty master; the driver opens the slave path as a serial port,
exactly as it would open /dev/ttyAMA0. `silent` makes the device ignore everything
(a device that went dead); `inject` writes raw bytes (garbage, broken frames).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty


class PtyDevice:
    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.silent = False
        self.received = bytearray()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.master, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 4096)
        except OSError:
            return  # the driver closed its end; it may open it again
        if not self.silent:
            self.received += data
            self.on_bytes(data)

    def on_bytes(self, data: bytes) -> None:
        raise NotImplementedError

    def inject(self, data: bytes) -> None:
        if not self.silent:
            os.write(self.master, data)

    async def stop(self) -> None:
        if self._loop:
            self._loop.remove_reader(self.master)
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    async def __aenter__(self) -> PtyDevice:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
