"""Hotspot through NetworkManager's command line (`nmcli`).

The access point is one NetworkManager connection profile (`con_name`) in AP mode with
WPA2-PSK and `ipv4.method shared` (NetworkManager then runs DHCP and NAT for the
phones that join). `up` rewrites the profile and activates it; `down` deactivates it.
"""

from __future__ import annotations

import asyncio

from hal.hotspot import HotspotError, check_credentials
from ncpa.log import get_logger

log = get_logger(__name__)


class NmcliHotspot:
    def __init__(
        self,
        interface: str = "wlan0",
        con_name: str = "ncpa-hotspot",
        nmcli: str = "nmcli",
        timeout: float = 30.0,
    ) -> None:
        self.interface = interface
        self.con_name = con_name
        self.nmcli = nmcli
        self.timeout = timeout

    async def _run(self, *args: str, check: bool = True) -> str:
        try:
            proc = await asyncio.create_subprocess_exec(
                self.nmcli,
                *args,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as e:
            raise HotspotError(
                f"cannot run {self.nmcli}: {e} (is NetworkManager installed?)"
            ) from e
        try:
            async with asyncio.timeout(self.timeout):
                out, err = await proc.communicate()
        except TimeoutError as e:
            proc.kill()
            await proc.wait()
            raise HotspotError(f"nmcli {args[0]} {args[1]}: no answer in {self.timeout} s") from e
        if check and proc.returncode != 0:
            msg = err.decode(errors="replace").strip() or out.decode(errors="replace").strip()
            raise HotspotError(f"nmcli {' '.join(args[:2])}: {msg}")
        return out.decode(errors="replace")

    async def up(self, ssid: str, password: str) -> None:
        check_credentials(ssid, password)
        # a fresh profile each time: the credentials may have changed
        await self._run("connection", "delete", self.con_name, check=False)
        await self._run(
            "connection", "add",
            "type", "wifi",
            "ifname", self.interface,
            "con-name", self.con_name,
            "autoconnect", "yes",
            "ssid", ssid,
            "802-11-wireless.mode", "ap",
            "802-11-wireless.band", "bg",
            "ipv4.method", "shared",
            "wifi-sec.key-mgmt", "wpa-psk",
            "wifi-sec.proto", "rsn",
            "wifi-sec.psk", password,
        )  # fmt: skip
        await self._run("connection", "up", self.con_name)
        log.info("hotspot.up", ssid=ssid, interface=self.interface)

    async def down(self) -> None:
        if await self.is_up():
            await self._run("connection", "down", self.con_name)
            log.info("hotspot.down", interface=self.interface)

    async def is_up(self) -> bool:
        out = await self._run("-t", "-f", "NAME", "connection", "show", "--active")
        return self.con_name in out.splitlines()
