"""The daemon's side of the update trial: check at start, report healthy once it runs."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from ncpa.log import get_logger
from ncpa.updates.slots import Releases

# set by ncpa.updates.launcher, which has counted this start already: one count per start
BOOT_CHECKED_ENV = "NCPA_BOOT_CHECKED"

log = get_logger(__name__)


class UpdateHealth:
    """start(): boot check (may roll back and ask for a restart), then, after the
    daemon has run for `confirm_after` seconds, mark the running release healthy."""

    def __init__(
        self,
        data_dir: Path,
        on_restart: Callable[[], None],
        confirm_after: float = 30.0,
        check_at_start: bool | None = None,  # None: unless the launcher did it (BOOT_CHECKED_ENV)
    ) -> None:
        if check_at_start is None:
            check_at_start = os.environ.get(BOOT_CHECKED_ENV) != "1"
        self.releases = Releases(data_dir)
        self.on_restart = on_restart
        self.confirm_after = confirm_after
        self.check_at_start = check_at_start
        self._task: asyncio.Task[None] | None = None
        self.state = "none"

    async def start(self) -> None:
        if self.check_at_start:
            self.state = await asyncio.to_thread(self.releases.boot_check)
            if self.state == "rolled_back":
                self.on_restart()  # the previous release must run, not this one
                return
        self._task = asyncio.create_task(self._confirm(), name="update-health")

    async def _confirm(self) -> None:
        await asyncio.sleep(self.confirm_after)
        version = await asyncio.to_thread(self.releases.mark_healthy)
        log.info("update.release_running", version=version)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
