"""The OCPP-J RPC endpoint of one connection, for either version.

It reads frames, answers the CSMS's calls through a route map (the ocpp library's `@on`
handlers), and makes our calls one at a time (OCPP allows one call in flight), matching
answers by message id. It replaces the ocpp library's ChargePoint, whose receive path
let one hostile frame drop the connection and stale answers pile up until the next call
died with RecursionError. The rules here:

- A frame that is not valid OCPP-J gets a CallError when its message id could be read,
  and is dropped (logged, rate-limited) when not; the connection stays up.
- An answer whose id is not the call in flight is dropped at once.
- A call's payload is checked against the official schema with formats; a handler's
  exception becomes a CallError and changes nothing else.
- Everything sent is strict JSON.

The version only shows in the `Dialect`: schema set, message classes, error code names.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

from ocpp import exceptions as ocpp_errors
from ocpp.charge_point import (
    camel_to_snake_case,
    remove_nones,
    serialize_as_dict,
    snake_to_camel_case,
)
from ocpp.exceptions import OCPPError

from ncpa.log import get_logger
from ncpa.ocpp import frames, schema
from ncpa.ocpp.frame_trace import FrameTrace

log = get_logger(__name__)


class Transport(Protocol):
    async def recv(self) -> str | bytes: ...
    async def send(self, message: str) -> None: ...


@dataclass(frozen=True)
class Dialect:
    """What differs between 1.6 and 2.0.1 at the RPC level."""

    version: str  # the ocpp library's schema set: "1.6" or "2.0.1"
    call: ModuleType  # payload classes of our calls
    call_result: ModuleType  # classes of the answers to them
    actions: frozenset[str]  # actions the version defines
    codes: Mapping[str, str]  # neutral error kind -> the version's error code

    def code(self, kind: str) -> str:
        return self.codes.get(kind, self.codes["internal"])

    def code_of(self, error: OCPPError) -> str:
        """The version's name for a library error (the library mixes the two)."""
        kind = _KIND_OF_CODE.get(error.code, "")
        return self.codes[kind] if kind else str(error.code)


_KIND_OF_CODE = {
    "FormatViolation": "format",
    "FormationViolation": "format",
    "OccurenceConstraintViolation": "occurrence",
    "OccurrenceConstraintViolation": "occurrence",
}


DROP = "drop"  # an `admit` verdict: the call gets no answer at all


class CallTimeout(TimeoutError):
    """No answer to our call in time."""


class InvalidAnswer(ValueError):
    """The CSMS answered our call with a CallResult that fails the schema."""


class _Drops:
    """Counts frames dropped for a reason; logs the first and then every 100th."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def note(self, reason: str, **fields: Any) -> None:
        n = self.counts.get(reason, 0) + 1
        self.counts[reason] = n
        if n == 1 or n % 100 == 0:
            log.warning("ocpp.frame.dropped", reason=reason, count=n, **fields)


class RpcEndpoint:
    def __init__(
        self,
        transport: Transport,
        dialect: Dialect,
        route_map: Mapping[str, Mapping[str, Callable[..., Any]]],
        call_timeout: float,
        trace: FrameTrace | None = None,
        replied: Callable[[bool], None] | None = None,
    ) -> None:
        self.transport = transport
        self.dialect = dialect
        self.route_map = route_map
        self.call_timeout = call_timeout
        self.trace = trace or FrameTrace()
        # called after each answer to a CSMS call goes out (True: it was a CallResult)
        self.replied = replied
        self.drops = _Drops()
        # what the registration allows (B02/B03), asked before each CSMS call is served:
        # None serves it, DROP leaves it unanswered, a dict is the CallResult payload
        # given instead of the handler's (a call refused while Pending)
        self.admit: Callable[[str, Any], dict[str, Any] | str | None] | None = None
        self._lock = asyncio.Lock()
        self._pending: tuple[str, asyncio.Future[frames.Frame]] | None = None
        self._ids = 0

    # -- receiving ------------------------------------------------------------------

    async def serve(self) -> None:
        """Read frames until the connection closes (ConnectionClosed propagates)."""
        while True:
            raw = await self.transport.recv()
            await self.handle(raw)

    async def handle(self, raw: str | bytes) -> None:
        self.trace.record("in", raw)
        try:
            frame = frames.parse(raw)
        except frames.FrameError as e:
            if e.unique_id is None:
                self.drops.note("unreadable", cause=e.cause[:120])
                return
            log.warning("ocpp.frame.invalid", id=e.unique_id, cause=e.cause[:120])
            await self._send(frames.call_error(e.unique_id, self.dialect.code(e.kind), e.cause))
            return
        if frame.type_id == frames.CALL:
            await self._on_call(frame)
            return
        pending = self._pending
        if pending is None or pending[0] != frame.unique_id or pending[1].done():
            self.drops.note("unknown answer", id=frame.unique_id)
            return
        pending[1].set_result(frame)

    async def _on_call(self, frame: frames.Frame) -> None:
        action = frame.action
        verdict = self.admit(action, frame.payload) if self.admit is not None else None
        if verdict == DROP:
            self.drops.note("not registered", action=action)
            return
        handlers = self.route_map.get(action)
        ok = False
        try:
            if handlers is None or "_on_action" not in handlers:
                known = action in self.dialect.actions
                kind = "not_implemented" if known else "not_supported"
                raise _Coded(kind, f"{action} is not {'implemented' if known else 'supported'}")
            schema.check_call(action, self.dialect.version, frame.payload)
            if isinstance(verdict, dict):
                log.info("ocpp.call.refused_unregistered", action=action)
                payload = verdict
            else:
                response = await self._run_handler(handlers["_on_action"], frame)
                payload = snake_to_camel_case(remove_nones(serialize_as_dict(response)))
            schema.check_own_result(action, self.dialect.version, payload)
            text = frames.call_result(frame.unique_id, payload)
            ok = True
        except _Coded as e:
            text = frames.call_error(frame.unique_id, self.dialect.code(e.kind), e.text)
        except OCPPError as e:
            log.info("ocpp.call.refused", action=action, code=e.code, cause=str(e.details)[:200])
            details = {"cause": str(e.details.get("cause", ""))[:255]} if e.details else {}
            text = frames.call_error(
                frame.unique_id, self.dialect.code_of(e), e.description or "", details
            )
        except Exception:
            log.exception("ocpp.call.handler_failed", action=action)
            text = frames.call_error(frame.unique_id, self.dialect.code("internal"), "internal")
        await self._send(text)
        if self.replied is not None:
            self.replied(ok)

    async def _run_handler(self, handler: Callable[..., Any], frame: frames.Frame) -> Any:
        kwargs = camel_to_snake_case(frame.payload)
        if "call_unique_id" in inspect.signature(handler).parameters:
            kwargs["call_unique_id"] = frame.unique_id
        try:
            result = handler(**kwargs)
        except TypeError as e:
            # a field the handler does not take: the schema let through what we cannot use
            raise _Coded("format", f"unexpected field: {e}") from e
        if inspect.isawaitable(result):
            result = await result
        return result

    # -- calling --------------------------------------------------------------------

    async def call(
        self, payload: Any, unique_id: str | None = None, timeout: float | None = None
    ) -> Any:
        """Send a call (a payload dataclass of the dialect's `call` module) and return its
        answer as the matching `call_result` dataclass.

        Raises an OCPPError for a CallError, InvalidAnswer for a CallResult that fails the
        schema, CallTimeout when no answer comes in time.
        """
        action = type(payload).__name__
        body = snake_to_camel_case(remove_nones(serialize_as_dict(payload)))
        answer = await self.call_raw(action, body, unique_id, timeout)
        try:
            return getattr(self.dialect.call_result, action)(**camel_to_snake_case(answer))
        except TypeError as e:
            raise InvalidAnswer(f"{action}: {e}") from e

    async def call_raw(
        self,
        action: str,
        payload: dict[str, Any],
        unique_id: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """The same with camelCase dicts in and out (no payload classes)."""
        schema.check_own_call(action, self.dialect.version, payload)
        async with self._lock:
            uid = unique_id or self._next_id()
            future: asyncio.Future[frames.Frame] = asyncio.get_running_loop().create_future()
            self._pending = (uid, future)
            try:
                await self._send(frames.call(uid, action, payload))
                async with asyncio.timeout(timeout or self.call_timeout):
                    answer = await future
            except TimeoutError as e:
                waited = timeout or self.call_timeout
                raise CallTimeout(f"no answer to {action} in {waited}s") from e
            finally:
                self._pending = None
        if answer.type_id == frames.CALL_ERROR:
            raise _error_from(answer)
        if not isinstance(answer.payload, dict):
            raise InvalidAnswer(f"{action}: the answer is not a JSON object")
        try:
            schema.check_result(action, self.dialect.version, answer.payload)
        except OCPPError as e:
            raise InvalidAnswer(f"{action}: {e.details.get('cause', e.description)}") from e
        return answer.payload

    def _next_id(self) -> str:
        return str(uuid.uuid4())

    async def _send(self, text: str) -> None:
        self.trace.record("out", text)
        await self.transport.send(text)


class _Coded(Exception):
    def __init__(self, kind: str, text: str) -> None:
        super().__init__(text)
        self.kind = kind
        self.text = text


def _error_from(frame: frames.Frame) -> OCPPError:
    """The OCPPError matching a CallError's code (GenericError for a code we do not know)."""
    for cls in _error_classes():
        if cls.code == frame.error_code:
            details = frame.payload if isinstance(frame.payload, dict) else {}
            return cls(description=frame.error_text, details=details)
    return ocpp_errors.GenericError(
        description=f"{frame.error_code}: {frame.error_text}", details={}
    )


def _error_classes() -> list[type[OCPPError]]:
    return [
        c
        for c in vars(ocpp_errors).values()
        if isinstance(c, type) and issubclass(c, OCPPError) and c is not OCPPError
    ]
