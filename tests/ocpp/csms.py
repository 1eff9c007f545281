"""A real central system for the tests: the ocpp library's CSMS side over websockets.serve.

It records every call the charge point makes (retries included, with their message
ids) and can misbehave on purpose: answer Boot with Pending/Rejected, never answer,
answer with a CallResult that fails the schema, drop the connection mid-call, refuse
the HTTP upgrade, demand HTTP Basic auth or a TLS client certificate.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from ocpp.routing import on
from ocpp.v16 import ChargePoint as LibChargePoint
from ocpp.v16 import call_result
from websockets.asyncio.server import Response, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Msg:
    action: str
    unique_id: str
    payload: dict[str, Any]


@dataclass
class Quirks:
    boot: list[str] = field(default_factory=list)  # statuses before Accepted
    boot_interval: int = 60  # heartbeat interval (Accepted) / retry (Pending, Rejected)
    tx_ids: Callable[[int], int] | None = None  # n-th StartTransaction -> transaction id
    never_answer: set[str] = field(default_factory=set)
    invalid_answer: set[str] = field(default_factory=set)  # CallResult {"error": ...}
    drop_once: set[str] = field(default_factory=set)  # close the socket on the first one
    error_answer: set[str] = field(default_factory=set)  # CallError InternalError
    error_codes: dict[str, str] = field(default_factory=dict)  # action -> CallError code
    http_status: int | None = None  # refuse the upgrade with this status
    close_1008: bool = False  # accept the upgrade, then close with 1008
    basic_auth: tuple[str, str] | None = None
    subprotocols: list[str] = field(default_factory=lambda: ["ocpp1.6"])
    pick_client_first: bool = False  # pick the first of the client's list (else the server's)
    id_tag_status: Callable[[str], str] = lambda _tag: "Accepted"
    current_time: Callable[[], str] = now_iso
    prefix: str = "/ocpp"  # URL path before /{charge point id}
    known_ids: set[str] | None = None  # None: every charge point is known
    unknown_id: str = "accept"  # boot_rejected | http_412 | close_1008 | accept
    meter_needs_tx: bool = False  # MeterValues without transactionId -> CallError
    # raw Calls sent to the charge point before the BootNotification is answered (Go CSMS)
    before_boot_answer: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    stop_without_tag_invalid: bool = False  # OCPP.Core: a Stop without idTag -> Invalid
    # called (as a task) after the CSMS has answered a call of the charge point
    after: Callable[[CsmsSide, Msg], Awaitable[None]] | None = None


class CsmsRouting:
    """What the test CSMS does with every frame, for either version (quirks, records)."""

    _connection: Any
    csms: Csms
    id: str  # the charge point id (the library's ChargePoint sets it)

    def __init__(self, csms: Csms, cp_id: str, ws: ServerConnection) -> None:
        super().__init__(cp_id, ws, response_timeout=10)
        self.csms = csms

    def boot_answer(self) -> dict[str, Any]:
        """The BootNotification answer's fields (the same in both versions), as the quirks
        say: the next scripted status, Rejected for an unknown id."""
        q = self.csms.quirks
        status = q.boot.pop(0) if q.boot else "Accepted"
        if q.known_ids is not None and self.id not in q.known_ids:
            status = "Rejected"
        return {"current_time": q.current_time(), "interval": q.boot_interval, "status": status}

    async def route_message(self, raw_msg: str) -> None:
        self.csms.raw_in.append(raw_msg)
        self.csms.changed.set()
        try:
            json.loads(raw_msg, parse_constant=_not_json)
        except ValueError:
            self.csms.invalid_json.append(raw_msg)
            return
        msg = json.loads(raw_msg)
        if msg[0] in (3, 4):
            self.csms.answered[str(msg[1])] = list(msg)
        if msg[0] in (3, 4) and not _UUID.fullmatch(str(msg[1])):
            return  # an answer to a raw frame of the test: not for the library's call()
        q = self.csms.quirks
        if msg[0] == 2:
            action = msg[2]
            self.csms.received.append(Msg(action, msg[1], msg[3]))
            self.csms.changed.set()
            if action in q.drop_once:
                q.drop_once.discard(action)
                await self._connection.close()
                return
            if action in q.never_answer:
                return
            if action == "BootNotification":
                for n, (act, payload) in enumerate(q.before_boot_answer):
                    await self._connection.send(json.dumps([2, f"pre-boot-{n}", act, payload]))
            if action in q.invalid_answer:
                await self._connection.send(json.dumps([3, msg[1], {"error": "unknown"}]))
                return
            no_tx = action == "MeterValues" and "transactionId" not in msg[3]
            if action in q.error_codes:
                await self._connection.send(json.dumps([4, msg[1], q.error_codes[action], "", {}]))
                return
            if action in q.error_answer or (q.meter_needs_tx and no_tx):
                await self._connection.send(json.dumps([4, msg[1], "InternalError", "no", {}]))
                return
        await super().route_message(raw_msg)
        if msg[0] == 2 and q.after is not None:
            task = asyncio.create_task(q.after(self, self.csms.received[-1]))
            self.csms.tasks.add(task)
            task.add_done_callback(self.csms.tasks.discard)


class CsmsSide(CsmsRouting, LibChargePoint):  # type: ignore[misc]
    @on("BootNotification")
    def on_boot(self, **_: Any) -> call_result.BootNotification:
        return call_result.BootNotification(**self.boot_answer())

    @on("Heartbeat")
    def on_heartbeat(self, **_: Any) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=self.csms.quirks.current_time())

    @on("StatusNotification")
    def on_status(self, **_: Any) -> call_result.StatusNotification:
        return call_result.StatusNotification()

    @on("Authorize")
    def on_authorize(self, id_tag: str, **_: Any) -> call_result.Authorize:
        return call_result.Authorize(id_tag_info={"status": self.csms.quirks.id_tag_status(id_tag)})

    @on("StartTransaction")
    def on_start(self, id_tag: str, **_: Any) -> call_result.StartTransaction:
        self.csms.starts += 1
        q = self.csms.quirks
        tx = q.tx_ids(self.csms.starts) if q.tx_ids else 1000 + self.csms.starts
        return call_result.StartTransaction(
            transaction_id=tx, id_tag_info={"status": q.id_tag_status(id_tag)}
        )

    @on("StopTransaction")
    def on_stop(self, id_tag: str | None = None, **_: Any) -> call_result.StopTransaction:
        if self.csms.quirks.stop_without_tag_invalid and id_tag is None:
            return call_result.StopTransaction(id_tag_info={"status": "Invalid"})
        return call_result.StopTransaction()

    @on("MeterValues")
    def on_meter_values(self, **_: Any) -> call_result.MeterValues:
        return call_result.MeterValues()

    @on("DataTransfer")
    def on_data_transfer(self, **_: Any) -> call_result.DataTransfer:
        return call_result.DataTransfer(status="Accepted")

    @on("FirmwareStatusNotification")
    def on_fw_status(self, **_: Any) -> call_result.FirmwareStatusNotification:
        return call_result.FirmwareStatusNotification()

    @on("DiagnosticsStatusNotification")
    def on_diag_status(self, **_: Any) -> call_result.DiagnosticsStatusNotification:
        return call_result.DiagnosticsStatusNotification()

    @on("SecurityEventNotification")
    def on_security_event(self, **_: Any) -> call_result.SecurityEventNotification:
        return call_result.SecurityEventNotification()

    @on("SignCertificate")
    def on_sign_certificate(self, csr: str, **_: Any) -> call_result.SignCertificate:
        self.csms.csrs.append(csr)
        return call_result.SignCertificate(status="Accepted")

    @on("LogStatusNotification")
    def on_log_status(self, **_: Any) -> call_result.LogStatusNotification:
        return call_result.LogStatusNotification()

    @on("SignedFirmwareStatusNotification")
    def on_signed_fw_status(self, **_: Any) -> call_result.SignedFirmwareStatusNotification:
        return call_result.SignedFirmwareStatusNotification()


class Csms:
    side_class: type[Any] = CsmsSide  # the library's CSMS side of one version

    def __init__(self, quirks: Quirks | None = None, ssl_context: ssl.SSLContext | None = None):
        self.quirks = quirks or Quirks()
        self.ssl = ssl_context
        self.received: list[Msg] = []
        self.raw_in: list[str] = []  # every frame from the charge point, as sent
        self.invalid_json: list[str] = []  # frames from the charge point that are not JSON
        self.answered: dict[str, list[Any]] = {}  # message id -> the charge point's answer
        self.changed = asyncio.Event()
        self.starts = 0
        self.connections = 0
        self.handshakes = 0
        self.csrs: list[str] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.side: CsmsSide | None = None
        self.connected = asyncio.Event()
        self.paths: list[str] = []
        self.offered: list[list[str]] = []
        self._server: Any = None
        self.port = 0

    @property
    def url(self) -> str:
        scheme = "wss" if self.ssl else "ws"
        host = "localhost" if self.ssl else "127.0.0.1"
        return f"{scheme}://{host}:{self.port}{self.quirks.prefix}"

    async def start(self, port: int = 0) -> Csms:
        self._server = await serve(
            self._handler,
            "127.0.0.1",
            port,
            subprotocols=self.quirks.subprotocols,  # type: ignore[arg-type]
            process_request=self._process_request,
            ssl=self.ssl,
            select_subprotocol=self._select if self.quirks.pick_client_first else None,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self.side = None
        self.connected.clear()

    def charge_point_id(self, path: str) -> str | None:
        """The charge point id a request path names (None: not a path of this CSMS)."""
        prefix, _, cp_id = path.rpartition("/")
        return cp_id if prefix == self.quirks.prefix else None

    def _select(self, _conn: ServerConnection, offered: Any) -> Any:
        return next((p for p in offered if p in self.quirks.subprotocols), None)

    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        self.handshakes += 1
        self.paths.append(request.path)
        offered = request.headers.get("Sec-WebSocket-Protocol", "")
        self.offered.append([p.strip() for p in offered.split(",") if p.strip()])
        q = self.quirks
        if q.http_status is not None:
            return conn.respond(HTTPStatus(q.http_status), "refused\n")
        cp_id = self.charge_point_id(request.path)
        if cp_id is None:
            return conn.respond(HTTPStatus.NOT_FOUND, "no such path\n")
        unknown = q.known_ids is not None and cp_id not in q.known_ids
        if unknown and q.unknown_id == "http_412":
            return conn.respond(HTTPStatus.PRECONDITION_FAILED, "unknown charge point\n")
        if q.basic_auth is not None:
            user, password = q.basic_auth
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            if request.headers.get("Authorization") != f"Basic {token}":
                return Response(401, "Unauthorized", Headers(), b"")
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        q = self.quirks
        cp_id = (self.charge_point_id(ws.request.path) if ws.request else None) or "?"
        unknown = q.known_ids is not None and cp_id not in q.known_ids
        if q.close_1008 or (unknown and q.unknown_id == "close_1008"):
            await ws.close(1008, "unknown charge point")
            return
        self.connections += 1
        side = self.side_class(self, cp_id, ws)
        self.side = side
        self.connected.set()
        try:
            await side.start()
        except Exception:
            pass
        finally:
            if self.side is side:
                self.side = None
                self.connected.clear()

    async def drop(self) -> None:
        """Close the current connection from the CSMS side."""
        if self.side is not None:
            await self.side._connection.close()

    async def send_raw(self, frame: str | bytes) -> None:
        """A frame to the charge point exactly as given (hostile frames)."""
        await asyncio.wait_for(self.connected.wait(), 10)
        assert self.side is not None
        await self.side._connection.send(frame)

    async def raw_answer(self, unique_id: str, within: float = 3.0) -> list[Any] | None:
        """The charge point's CallResult/CallError to `unique_id`, or None in time."""

        def find() -> list[Any] | None:
            return self.answered.get(unique_id)

        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while (found := find()) is None and loop.time() < deadline:
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), deadline - loop.time())
        return found

    def answers(self) -> list[list[Any]]:
        """Every CallResult/CallError the charge point sent."""
        return [m for m in map(json.loads, self.raw_in) if m[0] in (3, 4)]

    async def call(self, payload: Any) -> Any:
        """A call to the charge point (waits for a connection first)."""
        await asyncio.wait_for(self.connected.wait(), 10)
        assert self.side is not None
        return await self.side.call(payload)

    def calls(self, action: str) -> list[Msg]:
        return [m for m in self.received if m.action == action]

    async def wait_for(
        self,
        action: str,
        count: int = 1,
        pred: Callable[[Msg], bool] | None = None,
        within: float = 10,
    ) -> list[Msg]:
        async def _wait() -> list[Msg]:
            while True:
                found = [m for m in self.calls(action) if pred is None or pred(m)]
                if len(found) >= count:
                    return found
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(_wait(), within)
