"""Shunt trip: trips the upstream breaker, the last resort on a welded contactor."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class ShuntTrip(Protocol):
    async def trip(self) -> bool:
        """Fire the shunt coil. Returns True when the trip was confirmed."""
        ...
