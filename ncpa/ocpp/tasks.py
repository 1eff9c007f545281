"""Cancelling background tasks without swallowing our own cancellation."""

from __future__ import annotations

import asyncio
from typing import Any


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
