"""Fan-out of a driver's values to every async iterator that listens (status, cards, inputs)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Broadcast(Generic[T]):
    """Each subscriber gets the latest value at once (when `replay`), then every publish.

    Queues are unbounded on purpose: values are small and rare (state changes, cards),
    and dropping a state change would hide a fault from the charging core.
    """

    def __init__(self, replay: bool) -> None:
        self._replay = replay
        self._latest: T | None = None
        self._has_latest = False
        self._queues: set[asyncio.Queue[T]] = set()

    @property
    def latest(self) -> T | None:
        return self._latest

    def publish(self, value: T) -> None:
        self._latest, self._has_latest = value, True
        for q in self._queues:
            q.put_nowait(value)

    async def subscribe(self) -> AsyncIterator[T]:
        q: asyncio.Queue[T] = asyncio.Queue()
        if self._replay and self._has_latest:
            q.put_nowait(self._latest)  # type: ignore[arg-type]
        self._queues.add(q)
        try:
            while True:
                yield await q.get()
        finally:
            self._queues.discard(q)
