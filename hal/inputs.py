"""Digital inputs, such as the tariff (off-peak) signal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable


@runtime_checkable
class DigitalInput(Protocol):
    async def read(self) -> bool: ...

    def changes(self) -> AsyncIterator[bool]:
        """Yield the current value at once, then each change."""
        ...
