"""2.0.1 test doubles of two reference central systems (../shared/spec/csms-references/):
the cloud gateway (ocpp-gateway-201.md) and OCPP.Core (ocpp-core.md), with the quirks
INTEROP.md observed in their code, on the real v201 test CSMS (tests/ocpp/csms201.py)."""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from ocpp.v201.enums import Action
from websockets.asyncio.server import Response, ServerConnection
from websockets.http11 import Request

from tests.ocpp.csms import Quirks
from tests.ocpp.csms201 import Csms201, CsmsSide201

GATEWAY_HANDLES = frozenset({"BootNotification", "Heartbeat", "StatusNotification"})


class QueuedAnswers:
    """The gateway's answers travel through a non-FIFO queue with redelivery (SQS, MQTT
    QoS 1): each CallResult comes after a random delay (some after the charge point gave
    up on the call), and some come twice. Other frames pass straight through."""

    def __init__(self, ws: ServerConnection, rng: random.Random, late: float, twice: float):
        self.ws = ws
        self.rng = rng
        self.late = late  # longest delay of an answer, s
        self.twice = twice  # share of answers delivered twice
        self.late_answers = 0  # delayed beyond the charge point's call timeout (1 s)
        self.duplicated = 0
        self.tasks: set[asyncio.Task[None]] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ws, name)

    async def send(self, frame: str | bytes) -> None:
        text = frame if isinstance(frame, str) else frame.decode()
        if not text.startswith("[3"):
            await self.ws.send(frame)
            return
        copies = 2 if self.rng.random() < self.twice else 1
        self.duplicated += copies - 1
        for _ in range(copies):
            delay = self.rng.uniform(0, self.late)
            self.late_answers += delay > 1.0
            task = asyncio.create_task(self._later(frame, delay))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _later(self, frame: str | bytes, delay: float) -> None:
        await asyncio.sleep(delay)
        with contextlib.suppress(Exception):  # the connection went meanwhile: dropped
            await self.ws.send(frame)


class GatewaySide(CsmsSide201):
    def __init__(self, csms: Gateway, cp_id: str, ws: ServerConnection) -> None:
        super().__init__(csms, cp_id, ws)
        self.queue = QueuedAnswers(ws, csms.rng, csms.late, csms.twice)
        self._connection = self.queue
        csms.queues.append(self.queue)


class Gateway(Csms201):
    """ocpp-gateway-201.md: `ws://host/{id}`, the whole path without slashes is the id;
    only Boot, Heartbeat and StatusNotification handled, every other action answered with
    a CallResult `{"error": ...}` that fails the schema; currentTime without zone, with
    microseconds; answers late, out of order or twice; no common subprotocol: plain close;
    an unknown charge point: closed with 1008."""

    side_class = GatewaySide

    def __init__(
        self,
        subprotocols: list[str] | None = None,
        late: float = 1.5,
        twice: float = 0.3,
        seed: int = 9,
        **kw: Any,
    ) -> None:
        quirks = Quirks(
            prefix="",
            subprotocols=subprotocols or ["ocpp1.6", "ocpp2.0", "ocpp2.0.1"],
            pick_client_first=True,
            boot_interval=10,
            invalid_answer={a.value for a in Action} - GATEWAY_HANDLES,
            current_time=lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f"),
            known_ids={"CP1"},
            unknown_id="close_1008",
        )
        super().__init__(quirks, **kw)
        self.rng = random.Random(seed)
        self.late, self.twice = late, twice
        self.queues: list[QueuedAnswers] = []
        self.plain_closes = 0

    def charge_point_id(self, path: str) -> str | None:
        return path.replace("/", "")

    async def _handler(self, ws: ServerConnection) -> None:
        if ws.subprotocol is None:  # none offered, or none it knows
            self.plain_closes += 1
            await ws.close(1000)
            return
        await super()._handler(ws)


class OcppCore201(Csms201):
    """ocpp-core.md under 2.0.1: `/OCPP/{id}`, subprotocols in the server's order (1.6
    first: offering only 2.0.1 gets 2.0.1), HTTP Basic per charge point (security profile
    1), HTTP 412 for an unknown id, HTTP 500 for a reconnect while the old socket of that
    id still looks open (it notices a closed socket only `stale_for` s later)."""

    def __init__(self, password: str, stale_for: float = 1.0, **kw: Any) -> None:
        quirks = Quirks(
            prefix="/OCPP",
            subprotocols=["ocpp1.6", "ocpp2.0.1", "ocpp2.1"],
            basic_auth=("CP1", password),
            boot_interval=300,
            known_ids={"CP1"},
            unknown_id="http_412",
        )
        super().__init__(quirks, **kw)
        self.stale_for = stale_for
        self.open_until: dict[str, float] = {}  # id -> when its old socket stops looking open
        self.refused_500 = 0

    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        cp_id = self.charge_point_id(request.path)
        loop = asyncio.get_running_loop()
        if cp_id is not None and self.open_until.get(cp_id, 0) > loop.time():
            self.handshakes += 1
            self.paths.append(request.path)
            self.refused_500 += 1
            return conn.respond(HTTPStatus.INTERNAL_SERVER_ERROR, "already connected\n")
        return super()._process_request(conn, request)

    async def _handler(self, ws: ServerConnection) -> None:
        cp_id = (self.charge_point_id(ws.request.path) if ws.request else None) or "?"
        loop = asyncio.get_running_loop()
        self.open_until[cp_id] = float("inf")
        try:
            await super()._handler(ws)
        finally:
            self.open_until[cp_id] = loop.time() + self.stale_for
