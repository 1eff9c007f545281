"""The real daemon (`ncpa run --sim`) as a subprocess, for kill -9 and restart stories of
either OCPP version: spawn it, drive its simulator over HTTP, read its database."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from tests.ports import free_port

CONFIG = """
[station]
id = "CP1"
[charging]
authentication_mode = "PLUGNCHARGE"
meter_interval = 0.25
"""


def spawn(
    tmp: Path, csms_port: int, sim_port: int, version: str = "1.6", config: str = CONFIG
) -> subprocess.Popen[bytes]:
    (tmp / "ncpa.toml").write_text(config)
    cmd = [
        sys.executable, "-m", "ncpa", "run", "--sim",
        "--config", str(tmp / "ncpa.toml"),
        "--data-dir", str(tmp / "data"),
        "--csms-url", f"ws://127.0.0.1:{csms_port}/ocpp",
        "--ocpp-version", version,
        "--sim-port", str(sim_port),
        "--api-port", str(free_port()),  # not 8443: other daemons may run beside
    ]  # fmt: skip
    log = open(tmp / "agent.log", "ab")  # noqa: SIM115  # closed with the process
    return subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True)


async def kill9(proc: subprocess.Popen[bytes]) -> None:
    """A power cut: SIGKILL to the whole process group."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    await asyncio.to_thread(proc.wait, 10)


async def terminate(proc: subprocess.Popen[bytes]) -> None:
    """A clean stop (SIGTERM), as systemd does between two releases."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    await asyncio.to_thread(proc.wait, 20)


async def sim(http: aiohttp.ClientSession, port: int, method: str, path: str) -> Any:
    async with http.request(method, f"http://127.0.0.1:{port}{path}") as r:
        return await r.json()


async def agent_view(http: aiohttp.ClientSession, port: int) -> dict[str, Any] | None:
    try:
        return await sim(http, port, "GET", "/sim/agent")  # type: ignore[no-any-return]
    except aiohttp.ClientError:
        return None


async def wait_view(
    http: aiohttp.ClientSession,
    port: int,
    pred: Callable[[dict[str, Any]], bool],
    what: str,
    within: float = 15,
) -> dict[str, Any]:
    """The simulator's view of the agent once `pred` holds for it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        view = await agent_view(http, port)
        if view is not None and pred(view):
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(f"agent never reached: {what}")


def outbox_rows(tmp: Path) -> list[str]:
    """The kinds of the queued rows, oldest first."""
    conn = sqlite3.connect(tmp / "data" / "ncpa.sqlite3")
    try:
        return [r[0] for r in conn.execute("SELECT kind FROM ocpp_outbox ORDER BY seq")]
    except sqlite3.OperationalError:  # the OCPP client has not created its table yet
        return []
    finally:
        conn.close()
