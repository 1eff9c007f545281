"""Simulated hotspot: remembers what it was told, for the simulator and the tests."""

from __future__ import annotations

from hal.hotspot import check_credentials


class SimHotspot:
    def __init__(self) -> None:
        self.ssid = ""
        self.password = ""
        self._up = False

    async def up(self, ssid: str, password: str) -> None:
        check_credentials(ssid, password)
        self.ssid, self.password, self._up = ssid, password, True

    async def down(self) -> None:
        self._up = False

    async def is_up(self) -> bool:
        return self._up
