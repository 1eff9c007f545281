"""The charger's own Wi-Fi access point (the one the QR code's Wi-Fi block names)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


class HotspotError(Exception):
    """The access point could not be brought up or down; the message says why."""


def check_credentials(ssid: str, password: str) -> None:
    """WPA2-PSK rules: SSID 1..32 bytes, passphrase 8..63 printable ASCII characters."""
    if not 1 <= len(ssid.encode()) <= 32:
        raise ValueError("hotspot ssid: must be 1..32 bytes")
    if not (8 <= len(password) <= 63 and password.isascii() and password.isprintable()):
        raise ValueError("hotspot password: must be 8..63 printable ASCII characters")


@runtime_checkable
class Hotspot(Protocol):
    async def up(self, ssid: str, password: str) -> None:
        """Start (or restart with new credentials) the access point. Raises HotspotError,
        or ValueError for credentials that WPA2 does not accept."""
        ...

    async def down(self) -> None: ...

    async def is_up(self) -> bool: ...
