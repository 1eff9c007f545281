"""What the handlers of either version share: the context, and work for after the reply.

A handler must not wait for a call of ours (the receive loop that would read its answer
is the one running the handler), so it leaves such work to `after_reply`; it runs once
the CallResult has gone out, and not at all after a CallError (the call changed nothing).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from ocpp.routing import create_route_map

from ncpa.log import get_logger
from ncpa.ocpp.rpc import Dialect, RpcEndpoint, Transport

if TYPE_CHECKING:
    from ncpa.ocpp.context import OcppContext

log = get_logger(__name__)


class HandlerBase:
    def __init__(self, ctx: OcppContext) -> None:
        self.ctx = ctx
        self._after: list[Coroutine[Any, Any, None]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def after_reply(self, coro: Coroutine[Any, Any, None]) -> None:
        self._after.append(coro)

    def replied(self, ok: bool) -> None:
        after, self._after = self._after, []
        for coro in after:
            if not ok:
                coro.close()
                continue
            task = asyncio.create_task(coro)
            self._tasks.add(task)
            task.add_done_callback(self._done)

    def endpoint(self, transport: Transport, dialect: Dialect) -> RpcEndpoint:
        """The RPC endpoint of one connection, routing to these handlers."""
        return RpcEndpoint(
            transport,
            dialect,
            create_route_map(self),
            self.ctx.options.call_timeout,
            trace=self.ctx.frame_trace,
            replied=self.replied,
        )

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("ocpp.after_reply_failed", error=repr(task.exception()))
