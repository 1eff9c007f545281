"""Fan-out of a driver's values to every async iterator that listens (status, cards, inputs)."""

from __future__ import annotations

import asyncio
import weakref
from typing import Generic, TypeVar

T = TypeVar("T")


class Subscription(Generic[T]):
    """An async iterator of published values. Unlike an async generator it survives a
    cancelled `anext()` (a caller waiting with a timeout), and it is dropped from its
    Broadcast when nobody holds it any more."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[T] = asyncio.Queue()

    def __aiter__(self) -> Subscription[T]:
        return self

    async def __anext__(self) -> T:
        return await self._queue.get()

    def _put(self, value: T) -> None:
        self._queue.put_nowait(value)


class Broadcast(Generic[T]):
    """Each subscriber gets the latest value at once (when `replay`), then every publish.

    Queues are unbounded on purpose: values are small and rare (state changes, cards),
    and dropping a state change would hide a fault from the charging core.
    """

    def __init__(self, replay: bool) -> None:
        self._replay = replay
        self._latest: T | None = None
        self._has_latest = False
        self._subs: weakref.WeakSet[Subscription[T]] = weakref.WeakSet()

    @property
    def latest(self) -> T | None:
        return self._latest

    def publish(self, value: T) -> None:
        self._latest, self._has_latest = value, True
        for sub in list(self._subs):
            sub._put(value)

    def subscribe(self) -> Subscription[T]:
        sub: Subscription[T] = Subscription()
        if self._replay and self._has_latest:
            sub._put(self._latest)  # type: ignore[arg-type]
        self._subs.add(sub)
        return sub
