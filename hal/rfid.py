"""RFID reader: a stream of card UIDs, in the OCPP idTag form (upper-case hex)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable


@runtime_checkable
class RfidReader(Protocol):
    def cards(self) -> AsyncIterator[str]:
        """Yield each card presented, once per presentation (debounced)."""
        ...
