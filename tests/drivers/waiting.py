"""Waiting helpers for the driver tests (bounded, never timing assertions)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

T = TypeVar("T")


async def until(cond: Callable[[], bool], limit: float = 5.0) -> None:
    """Wait until `cond()` holds: it reads emulator state, which has no event to wait on."""
    async with asyncio.timeout(limit):
        while not cond():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def next_matching(it: AsyncIterator[T], cond: Callable[[T], bool], limit: float = 5.0) -> T:
    async with asyncio.timeout(limit):
        async for item in it:
            if cond(item):
                return item
    raise AssertionError("stream ended")
