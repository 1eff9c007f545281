"""What every handler mixin can use: the client, and work to run after the reply is sent."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ncpa.ocpp.client import OcppClient


class Handlers:
    client: OcppClient
    _after: list[Coroutine[Any, Any, None]]

    def after_reply(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run `coro` once the CallResult has gone out (a handler must not wait for a call:
        the receive loop that would read the answer is the one running the handler)."""
        self._after.append(coro)
