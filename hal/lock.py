"""Socket lock (latching device that holds the cable in the socket) with feedback."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class SocketLock(Protocol):
    async def set_locked(self, locked: bool) -> bool:
        """Move the lock and wait for its feedback switch.

        Returns True when the feedback confirms the new position in time.
        """
        ...

    async def feedback_locked(self) -> bool:
        """What the feedback switch says now."""
        ...
