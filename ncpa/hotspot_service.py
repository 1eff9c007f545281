"""Keeps the charger's own Wi-Fi access point up (the one the QR label's Wi-Fi block names),
and knows whether it is.

`[hotspot]` in the config file: `enabled` (default true), `ssid` (default: the charge point
id, cut to the 32 bytes an SSID may have), `password` (8..63 characters; without one a
charger runs without its hotspot, the simulator uses a development one). Failing to bring
the hotspot up is logged and retried: charging goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from hal.hotspot import Hotspot, HotspotError, check_credentials
from ncpa.config import Config, ConfigError
from ncpa.log import get_logger

log = get_logger(__name__)

CHECK_INTERVAL_S = 30.0
DEV_PASSWORD = "ncpa-dev-hotspot"
SSID_MAX_BYTES = 32


@dataclass(frozen=True)
class HotspotSettings:
    enabled: bool
    ssid: str
    password: str


def default_ssid(charge_point_id: str) -> str:
    """The SSID a user who set none gets: the id (printable ASCII, up to 48 characters,
    see ncpa/config.py) cut to WPA2's 32 bytes."""
    return charge_point_id.encode()[:SSID_MAX_BYTES].decode(errors="ignore") or "NCPA"


def parse_hotspot_settings(config: Config) -> HotspotSettings:
    raw: Any = config.raw.get("hotspot", {})
    if not isinstance(raw, dict):
        raise ConfigError("[hotspot] must be a table")
    unknown = set(raw) - {"enabled", "ssid", "password"}
    if unknown:
        raise ConfigError(f"hotspot.{sorted(unknown)[0]}: unknown setting")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError("hotspot.enabled: expected true or false")
    ssid = raw.get("ssid", default_ssid(config.station.id))
    password = raw.get("password", DEV_PASSWORD if config.developer_mode else "")
    if not isinstance(ssid, str) or not isinstance(password, str):
        raise ConfigError("hotspot.ssid and hotspot.password: expected strings")
    if enabled and not password and "password" not in raw:
        # no hotspot configured: the charger still charges; the installer app cannot pair
        log.warning("hotspot.not_configured", hint="set [hotspot] password to enable it")
        enabled = False
    if enabled:
        try:
            check_credentials(ssid, password)
        except ValueError as e:
            raise ConfigError(str(e).replace("hotspot ", "hotspot.")) from e
    return HotspotSettings(enabled, ssid, password)


class HotspotService:
    def __init__(self, hotspot: Hotspot, settings: HotspotSettings) -> None:
        self.hotspot = hotspot
        self.settings = settings
        self.up = False
        self._task: asyncio.Task[None] | None = None

    def status(self) -> dict[str, Any]:
        return {"ssid": self.settings.ssid, "up": self.up}

    async def start(self) -> None:
        if self.settings.enabled:
            self._task = asyncio.create_task(self._keep_up(), name="hotspot")

    async def _keep_up(self) -> None:
        while True:
            try:
                if not await self.hotspot.is_up():
                    await self.hotspot.up(self.settings.ssid, self.settings.password)
                    log.info("hotspot.up", ssid=self.settings.ssid)
                up = await self.hotspot.is_up()
            except (HotspotError, OSError) as e:
                log.error("hotspot.failed", ssid=self.settings.ssid, error=str(e))
                up = False
            if up != self.up:
                log.info("hotspot.state", up=up)
            self.up = up
            await asyncio.sleep(CHECK_INTERVAL_S)

    async def stop(self) -> None:
        # the access point stays up: an installer on it keeps the link through a restart
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
