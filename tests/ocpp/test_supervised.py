"""No sender may die silently (field hardening 8): a long-lived task that fails is logged
and started again."""

from __future__ import annotations

import asyncio
import logging

import pytest

from ncpa.ocpp.tasks import supervised


async def test_a_failing_task_is_logged_and_restarted(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []

    async def work() -> None:
        runs.append(len(runs))
        if len(runs) < 3:
            raise RecursionError("maximum recursion depth exceeded")
        await asyncio.sleep(3600)

    caplog.set_level(logging.ERROR)
    task = asyncio.create_task(supervised("ocpp-status", work, restart_delay=0.01))
    for _ in range(200):
        if len(runs) == 3:
            break
        await asyncio.sleep(0.01)
    assert len(runs) == 3
    restarts = [r for r in caplog.records if r.getMessage() == "ocpp.task.restarted"]
    assert len(restarts) == 2 and restarts[0].exc_info is not None
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
