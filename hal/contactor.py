"""Contactor (main power relays) with auxiliary-contact feedback."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Contactor(Protocol):
    async def set_closed(self, closed: bool) -> None:
        """Drive the coils. Only the charging core's interlock may call this."""
        ...

    async def feedback_closed(self) -> bool:
        """What the auxiliary contact says. Closed while commanded open = welded."""
        ...
