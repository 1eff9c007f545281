"""GetDiagnostics (FirmwareManagement) and GetLog (security whitepaper): collect, then upload.

A diagnostics file is JSON: the journal of the charging core, the OCPP settings
(secrets left out), the outbox depth and the security log, within the time window
asked for. A security log file holds the security log only.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ncpa.log import get_logger
from ncpa.ocpp.tasks import cancel_all
from ncpa.ocpp.transfer import upload, with_retries

if TYPE_CHECKING:
    from ncpa.ocpp.client import OcppClient

log = get_logger(__name__)


class Diagnostics:
    def __init__(self, client: OcppClient, directory: Path) -> None:
        self.client = client
        self.dir = directory
        self.status = "Idle"  # DiagnosticsStatus
        self.log_status = "Idle"  # UploadLogStatus
        self.log_request: int | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._log_task: asyncio.Task[None] | None = None

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @property
    def log_busy(self) -> bool:
        return self._log_task is not None and not self._log_task.done()

    async def cancel_log(self) -> None:
        """A newer GetLog replaces the upload under way (2.0.1 N01.FR.12)."""
        if self._log_task is not None:
            await cancel_all(self._log_task)
            self._log_task = None
        self.log_status = "Idle"

    async def collect(self, kind: str, since: float | None, until: float | None) -> Path:
        c = self.client
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        name = f"{c.options.charge_point_id}-{kind}-{stamp}.json"
        lo, hi = since or 0.0, until or 1e12
        security = await c.security.entries(since, until)
        adapter = c.adapter  # the names of the version that asked (2.0.1: Csms, not CentralSystem)
        if adapter is not None:
            for entry in security:
                entry["type"] = adapter.security_event_name(str(entry["type"]))
        data: dict[str, Any] = {"charge_point": c.options.charge_point_id, "security_log": security}
        if kind == "diagnostics":
            journal = await c.station.store.journal_entries(limit=10_000)
            data["journal"] = [e for e in journal if lo <= e["ts"] <= hi]
            data["configuration"] = c.settings.report()[0]
            data["outbox"] = await c.outbox.depth()
        await asyncio.to_thread(self.dir.mkdir, parents=True, exist_ok=True)
        path = self.dir / name
        await asyncio.to_thread(path.write_text, json.dumps(data, indent=1, default=str))
        return path

    # -- GetDiagnostics -------------------------------------------------------------------

    async def start_diagnostics(
        self, location: str, retries: int, interval: float, since: float | None, until: float | None
    ) -> str:
        path = await self.collect("diagnostics", since, until)
        self._spawn(self._upload_diagnostics(location, path, retries, interval))
        return path.name

    async def notify(self, status: str) -> None:
        self.status = status
        await self.client.notify("diagnostics", status)

    async def _upload_diagnostics(
        self, location: str, path: Path, retries: int, interval: float
    ) -> None:
        await self.notify("Uploading")
        ok = await with_retries("diagnostics", lambda: upload(location, path), retries, interval)
        await self.notify("Uploaded" if ok else "UploadFailed")
        self.status = "Idle"

    # -- GetLog ---------------------------------------------------------------------------

    async def start_log(
        self,
        log_type: str,
        request_id: int,
        location: str,
        retries: int,
        interval: float,
        since: float | None,
        until: float | None,
    ) -> str:
        kind = "security" if log_type == "SecurityLog" else "diagnostics"
        path = await self.collect(kind, since, until)
        self.log_request = request_id
        upload = self._upload_log(request_id, location, path, retries, interval)
        self._log_task = self._spawn(upload)
        return path.name

    async def trigger_log(self) -> None:
        """TriggerMessage LogStatusNotification: Uploading while an upload runs, else Idle
        (an upload's final status was sent when it ended, N01)."""
        status = "Uploading" if self.log_busy and self.log_status == "Uploading" else "Idle"
        await self.notify_log(status, self.log_request or 0)

    async def notify_log(self, status: str, request_id: int) -> None:
        self.log_status = status
        await self.client.notify("log", status, request_id)

    async def _upload_log(
        self, request_id: int, location: str, path: Path, retries: int, interval: float
    ) -> None:
        await self.notify_log("Uploading", request_id)
        ok = await with_retries("log", lambda: upload(location, path), retries, interval)
        await self.notify_log("Uploaded" if ok else "UploadFailure", request_id)
        self.log_status = "Idle"
