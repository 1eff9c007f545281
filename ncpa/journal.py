"""The event journal: what happened, in order, on disk (for support and for the installer).

Written from a queue by one task, so that publishing never waits for the disk.
Meter samples are not journaled (the transactions table keeps the energy).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from typing import Any

from ncpa.events import EventBus, MeterSample
from ncpa.log import get_logger
from ncpa.store import Store

log = get_logger(__name__)


class Journal:
    def __init__(self, store: Store, bus: EventBus) -> None:
        self.store = store
        self.bus = bus
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize=10_000)
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe = bus.subscribe(self._on_event)

    def _on_event(self, event: object) -> None:
        if isinstance(event, MeterSample):
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            log.warning("journal.full", kind=type(event).__name__)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="journal")

    async def _run(self) -> None:
        while True:
            event = await self._queue.get()
            data: dict[str, Any] = (
                dataclasses.asdict(event) if dataclasses.is_dataclass(event) else {}  # type: ignore[arg-type]
            )
            try:
                await self.store.journal(type(event).__name__, data.get("connector_id"), data)
            except Exception:
                log.exception("journal.write_failed")
            finally:
                self._queue.task_done()

    async def stop(self) -> None:
        self._unsubscribe()
        # drain what is queued so the journal ends with the shutdown's events
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await self._queue.join()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
