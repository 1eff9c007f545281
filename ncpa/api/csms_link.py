"""The CSMS connection's state as the web page shows it: configured, and connected now.

The daemon makes one, hands it to the API, and attaches the OCPP client's `connected`
event once the client exists; the API reads a flag and never talks to OCPP.
"""

from __future__ import annotations

import asyncio
from typing import Any


class CsmsLink:
    def __init__(self, configured: bool) -> None:
        self.configured = configured
        self._connected: asyncio.Event | None = None

    def attach(self, connected: asyncio.Event) -> None:
        self._connected = connected

    def __call__(self) -> dict[str, Any]:
        connected = self._connected is not None and self._connected.is_set()
        return {"configured": self.configured, "connected": connected}
