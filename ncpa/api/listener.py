"""The API's TCP listener: a cap on connections, a TLS handshake deadline, one log line
for exhaustion; an aiohttp site (`runner.addresses`, `runner.cleanup()` work as for
`web.TCPSite`).

Why not `web.TCPSite`: asyncio's server accepts without limit, keeps a TLS handshake open
for 60 s, logs every failed accept (`Too many open files`, at the rate of the accept loop:
1 MB/s of log when the process runs out of file handles), and on Python < 3.11.8 a TLS
connection that closes during its handshake stays alive in a reference cycle
(CPython gh-109534: the accept coroutine's frame <-> the waiter's exception traceback)
with its 256 KiB read buffer until a full garbage collection, which a quiet server rarely
runs: 400 raw TCP connects added 120 MB of RSS, never returned. Here every handshake runs
in our own task (`loop.connect_accepted_socket`), whose failure drops the traceback at
once, so the buffer goes with the connection.

Admission: at the cap, the oldest connection still in its TLS handshake is closed to make
room (a flood of half-open connections cannot lock a phone out); when all are past their
handshake, the new one is refused. Idle connections are closed by aiohttp's keep-alive
timeout, which also bounds the time to send the first request's headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ncpa.log import get_logger

log = get_logger(__name__)

EXHAUSTION_LOG_INTERVAL_S = 60.0
ACCEPT_ERROR_PAUSE_S = 0.2  # out of file handles: wait a little, do not spin on accept()


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int = 64  # a charger serves a few phones; each TLS connection ~300 KiB
    handshake_timeout: float = 10.0  # seconds from accept to the end of the TLS handshake
    idle_timeout: float = 15.0  # seconds without a request (the first one's headers too)
    backlog: int = 128


class _Listening:
    """What aiohttp's runner expects of a site's server: `sockets` and `close()`."""

    def __init__(self, sock: socket.socket, task: asyncio.Task[None]) -> None:
        self.sockets = [sock]
        self._task = task

    def close(self) -> None:
        self._task.cancel()
        for sock in self.sockets:
            sock.close()


class _RateLimitedLog:
    """One line per interval, with what happened since the last one."""

    def __init__(self, event: str, interval: float = EXHAUSTION_LOG_INTERVAL_S) -> None:
        self.event = event
        self.interval = interval
        self.count = 0
        self._last = -float("inf")

    def note(self, **fields: Any) -> None:
        self.count += 1
        now = time.monotonic()
        if now - self._last >= self.interval:
            log.warning(self.event, since_last=self.count, **fields)
            self.count = 0
            self._last = now


class CappedSite(web.BaseSite):
    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        *,
        ssl_context: ssl.SSLContext | None,
        limits: ConnectionLimits,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context, backlog=limits.backlog)
        self._host = host
        self._port = port
        self.limits = limits
        self._handshakes: dict[socket.socket, asyncio.Task[None]] = {}  # oldest first
        self._full_log = _RateLimitedLog("api.connections_full")
        self._accept_log = _RateLimitedLog("api.accept_failed")

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        return f"{scheme}://{self._host}:{self._port}"

    @property
    def open_connections(self) -> int:
        server = self._runner.server
        return len(self._handshakes) + (len(server.connections) if server is not None else 0)

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(
            self._host, self._port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        family, kind, proto, _, addr = infos[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(addr)
            sock.listen(self._backlog)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        listening = _Listening(sock, loop.create_task(self._accept_loop(sock), name="api"))
        self._server = listening  # type: ignore[assignment]  # what the runner reads of it

    async def stop(self) -> None:
        await super().stop()
        for task in list(self._handshakes.values()):
            task.cancel()

    async def _accept_loop(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, _ = await loop.sock_accept(listener)
            except OSError as e:
                if e.errno not in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    if e.errno in (errno.ECONNABORTED, errno.EAGAIN):
                        continue
                    raise
                self._accept_log.note(error=e.strerror)
                await asyncio.sleep(ACCEPT_ERROR_PAUSE_S)
                continue
            if not self._admit():
                conn.close()
                continue
            task = loop.create_task(self._connect(conn))
            self._handshakes[conn] = task

    def _admit(self) -> bool:
        if self.open_connections < self.limits.max_connections:
            return True
        if self._handshakes:  # make room: the oldest handshake goes
            oldest = next(iter(self._handshakes))
            self._handshakes.pop(oldest).cancel()
            self._full_log.note(max_connections=self.limits.max_connections, action="evicted")
            return True
        self._full_log.note(max_connections=self.limits.max_connections, action="refused")
        return False

    async def _connect(self, conn: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None
        try:
            await loop.connect_accepted_socket(
                server,
                conn,
                ssl=self._ssl_context,
                ssl_handshake_timeout=self.limits.handshake_timeout if self._ssl_context else None,
            )
        except BaseException as e:
            # the traceback holds the frames that hold the TLS protocol (gh-109534):
            # drop it, so that the connection's buffers are freed now, not at the next full GC
            e.__traceback__ = None
            with contextlib.suppress(OSError):
                conn.close()
            if isinstance(e, KeyboardInterrupt | SystemExit):
                raise
            if isinstance(e, asyncio.CancelledError):
                return
            if not isinstance(e, OSError | ssl.SSLError | TimeoutError):
                log.warning("api.connection_failed", error=type(e).__name__)
            del e
        finally:
            self._handshakes.pop(conn, None)
