"""Firmware updates: UpdateFirmware (FirmwareManagement) and SignedUpdateFirmware (security
whitepaper): download with retries, signature check, install once no transaction runs.

The image is downloaded to <data_dir>/ocpp/firmware. Installing is the platform's job:
`installer(path) -> bool` (the daemon may set `OcppClient.firmware_installer`); by
default the image is staged (<data_dir>/ocpp/firmware/staged names it) for the
system updater and the update counts as installed.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from ncpa.log import get_logger
from ncpa.ocpp.certificates import CertificateError, verify_firmware
from ncpa.ocpp.tasks import cancel_all
from ncpa.ocpp.transfer import download, with_retries

if TYPE_CHECKING:
    from cryptography import x509

    from ncpa.ocpp.client import OcppClient

log = get_logger(__name__)

Installer = Callable[[Path], Awaitable[bool]]
# after these the update is over (a triggered notification then says Idle)
_FINAL = frozenset(
    {
        "Installed",
        "InstallationFailed",
        "DownloadFailed",
        "InvalidSignature",
        "InstallRebooting",
        "InstallVerificationFailed",
    }
)
# store setting: a signed update installed, the restart into it not yet reported
PENDING_KEY = "ocpp.firmware_pending"


class FirmwareManager:
    def __init__(self, client: OcppClient, directory: Path) -> None:
        self.client = client
        self.dir = directory
        self.status = "Idle"
        self.request_id: int | None = None  # set for a signed update
        self.installer: Installer = self.stage
        # the installer restarts the agent into the new release (ncpa.updates): a signed
        # update then says InstallRebooting, and Installed only from the new release
        self.reboots = False
        self._task: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_all(self._task)

    async def cancel(self) -> None:
        await self.stop()
        self._task = None

    def start(
        self,
        location: str,
        retrieve_ts: float,
        retries: int,
        interval: float,
        signed: tuple[int, x509.Certificate, str] | None = None,
        install_ts: float | None = None,
    ) -> None:
        """Run the update in the background (it outlives the connection)."""
        self.request_id = signed[0] if signed else None
        self._task = asyncio.create_task(
            self._run(location, retrieve_ts, retries, interval, signed, install_ts),
            name="ocpp-firmware",
        )

    async def notify(self, status: str) -> None:
        self.status = status
        log.info("ocpp.firmware.status", status=status, request_id=self.request_id)
        await self.client.notify("firmware", status, self.request_id)

    async def trigger(self) -> None:
        """TriggerMessage FirmwareStatusNotification: Idle unless an update is under way."""
        if not self.busy or self.status in _FINAL:
            self.status = "Idle"
        await self.notify(self.status)

    async def _run(
        self,
        location: str,
        retrieve_ts: float,
        retries: int,
        interval: float,
        signed: tuple[int, x509.Certificate, str] | None,
        install_ts: float | None = None,
    ) -> None:
        delay = retrieve_ts - time.time()
        if delay > 0:
            if signed:
                await self.notify("DownloadScheduled")
            await asyncio.sleep(delay)
        await asyncio.to_thread(self.dir.mkdir, parents=True, exist_ok=True)
        name = Path(urlparse(location).path).name or "firmware.bin"
        dest = self.dir / name
        await self.notify("Downloading")

        async def attempt() -> None:
            await download(location, dest)

        if not await with_retries("firmware", attempt, retries, interval):
            await self.notify("DownloadFailed")
            return
        await self.notify("Downloaded")
        if signed is not None:
            _, cert, signature = signed
            data = await asyncio.to_thread(dest.read_bytes)
            try:
                verify_firmware(cert, data, signature)
            except CertificateError as e:
                await self.client.security.event("InvalidFirmwareSignature", str(e))
                await self.notify("InvalidSignature")
                return
            await self.notify("SignatureVerified")
            if install_ts is not None and install_ts > time.time():
                await self.notify("InstallScheduled")
                await asyncio.sleep(install_ts - time.time())
        await self._wait_for_idle_connectors()
        await self.notify("Installing")
        rebooting = self.reboots and signed is not None
        if rebooting:
            # before the installer runs: it may restart the agent as soon as it is done
            await self._remember_reboot()
        try:
            ok = await self.installer(dest)
        except Exception as e:
            log.error("ocpp.firmware.install_failed", error=repr(e))
            ok = False
        if rebooting and ok:
            await self.notify("InstallRebooting")
            return
        if rebooting:
            await self._forget_reboot()
        if ok:
            await self.client.security.event("FirmwareUpdated", name)
        await self.notify("Installed" if ok else "InstallationFailed")

    async def _remember_reboot(self) -> None:
        from ncpa.ocpp.boot_reason import EXPLICIT_KEY as BOOT_REASON_KEY

        store = self.client.station.store
        pending = {"request_id": self.request_id, "from_version": self.client.firmware_version}
        await store.set_setting(PENDING_KEY, pending)
        await store.set_setting(BOOT_REASON_KEY, "FirmwareUpdate")

    async def _forget_reboot(self) -> None:
        from ncpa.ocpp.boot_reason import EXPLICIT_KEY as BOOT_REASON_KEY

        store = self.client.station.store
        await store.set_setting(PENDING_KEY, None)
        await store.set_setting(BOOT_REASON_KEY, "")

    async def resume(self) -> None:
        """After the restart into a new release (once accepted): Installed when another
        release runs now, InstallVerificationFailed when the old one came back (the boot
        check rolled the new one back)."""
        store = self.client.station.store
        pending = await store.get_setting(PENDING_KEY)
        if not isinstance(pending, dict) or self.busy:
            return
        await store.set_setting(PENDING_KEY, None)
        request_id = pending.get("request_id")
        self.request_id = request_id if isinstance(request_id, int) else None
        installed = pending.get("from_version") != self.client.firmware_version
        if installed:
            await self.client.security.event("FirmwareUpdated", self.client.firmware_version)
        await self.notify("Installed" if installed else "InstallVerificationFailed")

    async def _wait_for_idle_connectors(self) -> None:
        # never cut a session short for an update: install between transactions
        for _ in itertools.count():
            if all(v.transaction is None for v in self.client.station.views()):
                return
            await asyncio.sleep(5)

    async def stage(self, image: Path) -> bool:
        await asyncio.to_thread((self.dir / "staged").write_text, str(image))
        return True
