"""Updates as the API drives them: keep verified bundles, install one, switch, restart."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from ncpa.log import get_logger
from ncpa.updates.bundle import BundleError, Manifest, load_vendor_key, verify_bundle
from ncpa.updates.slots import Releases

log = get_logger(__name__)


@dataclass(frozen=True)
class StoredBundle:
    path: Path
    manifest: Manifest
    sha256: str
    size: int
    uploaded: float


class UpdateService:
    def __init__(self, data_dir: Path, vendor_key_path: Path, health_timeout: float) -> None:
        self.releases = Releases(data_dir)
        self.incoming = data_dir / "updates"
        self.health_timeout = health_timeout
        self.state = "IDLE"  # IDLE | INSTALLING | RESTARTING | FAILED
        self.error: str | None = None
        self.last: StoredBundle | None = None
        self._task: asyncio.Task[None] | None = None
        # uploads cut short by a power loss or a restart leave .part files: never used
        for stale in self.incoming.glob("*.part") if self.incoming.exists() else []:
            stale.unlink(missing_ok=True)
        try:
            self.vendor_key: ed25519.Ed25519PublicKey | None = load_vendor_key(
                vendor_key_path.read_bytes()
            )
        except (OSError, ValueError) as e:
            log.error("update.no_vendor_key", path=str(vendor_key_path), error=str(e))
            self.vendor_key = None

    @property
    def busy(self) -> bool:
        return self.state in ("INSTALLING", "RESTARTING")

    async def verify(self, path: Path, sha256: str, size: int) -> StoredBundle:
        """Check the uploaded file; keep it as <version>-<sha>.bundle. Raises BundleError."""
        if self.vendor_key is None:
            raise BundleError("no vendor key pinned on this charger")
        try:
            manifest = await asyncio.to_thread(verify_bundle, path, self.vendor_key)
        except BundleError:
            await asyncio.to_thread(path.unlink, missing_ok=True)
            raise
        final = path.with_name(f"{manifest.version}-{sha256[:12]}.bundle")
        await asyncio.to_thread(path.replace, final)
        self.last = StoredBundle(final, manifest, sha256, size, time.time())
        log.info("update.verified", version=manifest.version, sha256=sha256, size=size)
        return self.last

    def install(
        self,
        bundle: StoredBundle,
        before_restart: Callable[[], Awaitable[None]],
        restart: Callable[[], None],
    ) -> None:
        """Install in the background: the API answers while it runs (status UPGRADING)."""
        self.state, self.error = "INSTALLING", None
        self._task = asyncio.create_task(self._install(bundle, before_restart, restart))

    async def _install(
        self,
        bundle: StoredBundle,
        before_restart: Callable[[], Awaitable[None]],
        restart: Callable[[], None],
    ) -> None:
        assert self.vendor_key is not None
        try:
            await asyncio.to_thread(self.releases.install, bundle.path, self.vendor_key)
            await asyncio.to_thread(
                self.releases.switch, bundle.manifest.version, self.health_timeout
            )
            self.state = "RESTARTING"
            await before_restart()
            log.info("update.restarting", version=bundle.manifest.version)
            restart()
        except Exception as e:  # the running release keeps running
            self.state, self.error = "FAILED", str(e)
            log.exception("update.install_failed", version=bundle.manifest.version)

    async def wait(self) -> None:
        if self._task is not None:
            await asyncio.shield(self._task)

    def stored(self) -> list[dict[str, Any]]:
        if not self.incoming.exists():
            return []
        out = []
        for p in sorted(self.incoming.glob("*.bundle")):
            st = p.stat()
            out.append({"filename": p.name, "size": st.st_size, "uploaded": int(st.st_mtime)})
        return out

    def delete_stored(self) -> int:
        n = 0
        for p in self.incoming.glob("*.bundle") if self.incoming.exists() else []:
            p.unlink(missing_ok=True)
            n += 1
        self.last = None
        return n

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
