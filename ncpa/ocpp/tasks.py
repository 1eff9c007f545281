"""Background tasks: cancelling them without swallowing our own cancellation, and
keeping the long-lived ones alive."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from ncpa.log import get_logger

log = get_logger(__name__)


async def cancel_all(*tasks: asyncio.Task[Any]) -> None:
    """Cancel `tasks` and wait until they are done.

    `asyncio.wait` neither raises the tasks' exceptions nor hides a CancelledError
    aimed at the caller (awaiting each task under suppress(BaseException) would).
    The cancel is repeated: on Python 3.11, `asyncio.wait_for` (used inside the ocpp
    library's call) can swallow a cancel that arrives as its inner future completes.
    """
    pending = {t for t in tasks if not t.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.5)


async def supervised(
    name: str, work: Callable[[], Coroutine[Any, Any, None]], restart_delay: float = 1.0
) -> None:
    """Run a long-lived task for ever: when it fails, log why and start it again.

    A sender that dies silently would leave the CSMS without news until a restart
    (status changes never reported again); a supervised one logs and comes back.
    """
    restarts = 0
    while True:
        try:
            await work()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            restarts += 1
            log.exception("ocpp.task.restarted", task=name, restarts=restarts)
            await asyncio.sleep(min(restart_delay * restarts, 30.0))
