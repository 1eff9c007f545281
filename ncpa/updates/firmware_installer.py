"""OCPP firmware updates install signed bundles, like POST /upgrade does.

UpdateFirmware / SignedUpdateFirmware download the image (ncpa/ocpp/firmware.py); this
installer takes it only if it is a bundle signed by the pinned vendor key, installs it
into a new release slot, switches over and restarts the daemon shortly after the CSMS
has been told "Installed". The boot check rolls it back if it does not report healthy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from ncpa.log import get_logger
from ncpa.updates.bundle import BundleError, load_vendor_key
from ncpa.updates.slots import Releases

log = get_logger(__name__)

RESTART_DELAY_S = 2.0  # time for FirmwareStatusNotification(Installed) to go out


def bundle_installer(
    data_dir: Path,
    vendor_key_path: Path,
    health_timeout: float,
    restart: Callable[[], None],
) -> Callable[[Path], Awaitable[bool]]:
    releases = Releases(data_dir)

    async def install(image: Path) -> bool:
        try:
            key = load_vendor_key(await asyncio.to_thread(vendor_key_path.read_bytes))
            manifest = await asyncio.to_thread(releases.install, image, key)
            await asyncio.to_thread(releases.switch, manifest.version, health_timeout)
        except (OSError, ValueError, BundleError) as e:
            log.error("firmware.install_refused", image=image.name, error=str(e))
            return False
        log.info("firmware.installed", version=manifest.version, restart_in=RESTART_DELAY_S)
        asyncio.get_running_loop().call_later(RESTART_DELAY_S, restart)
        return True

    return install
