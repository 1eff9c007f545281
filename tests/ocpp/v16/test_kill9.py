"""kill -9 of the agent (the real daemon, `ncpa run --sim`) with messages queued."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from tests.ocpp.conftest import until
from tests.ocpp.csms import Csms, Quirks
from tests.ocpp.daemon import agent_view, free_port, kill9, outbox_rows, sim, spawn


async def test_kill_9_with_queued_messages_then_delivery_after_restart(tmp_path: Path) -> None:
    csms_port, sim_port = free_port(), free_port()
    proc = spawn(tmp_path, csms_port, sim_port)
    try:
        async with aiohttp.ClientSession() as http:
            views: list[dict[str, Any] | None] = [None]

            async def poll() -> None:
                views[0] = await agent_view(http, sim_port)

            async def wait_view(pred: Any, what: str) -> None:
                for _ in range(300):
                    await poll()
                    if views[0] is not None and pred(views[0]):
                        return
                    await asyncio.sleep(0.05)
                raise AssertionError(f"agent never reached: {what}")

            await wait_view(lambda v: True, "up")
            await sim(http, sim_port, "POST", "/sim/connectors/1/plug")
            await wait_view(lambda v: v["connectors"][0]["transaction"], "transaction")
            await sim(http, sim_port, "POST", "/sim/connectors/1/unplug")
            await wait_view(
                lambda v: v["recent_transactions"] and v["recent_transactions"][0]["stop_ts"],
                "stopped",
            )
        # statuses wait in the same ordered pipe, around the transaction messages
        await until(
            lambda: [k for k in outbox_rows(tmp_path) if k != "status"] == ["start", "stop"],
            10,
            "queued",
        )
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        csms = await Csms(Quirks()).start(csms_port)
        proc = spawn(tmp_path, csms_port, sim_port)
        try:
            await csms.wait_for("StopTransaction", within=30)
            tx = [m for m in csms.received if m.action.endswith("Transaction")]
            assert [m.action for m in tx] == ["StartTransaction", "StopTransaction"]
            assert all(n == 1 for n in Counter(m.unique_id for m in tx).values())
            assert tx[1].payload["transactionId"] == 1001
        finally:
            await csms.stop()
    finally:
        # SIGKILL: a clean stop would wait shutdown_drain for answers of the CSMS gone
        await kill9(proc)


def local_remote_ids(tmp: Path) -> list[tuple[int, str | None, int | None]]:
    """(local id, transactions.remote_id, ocpp_tx.remote_id) of every transaction."""
    conn = sqlite3.connect(tmp / "data" / "ncpa.sqlite3")
    try:
        return list(
            conn.execute(
                "SELECT t.id, t.remote_id, o.remote_id FROM transactions t "
                "LEFT JOIN ocpp_tx o ON o.tx_id = t.id ORDER BY t.id"
            )
        )
    finally:
        conn.close()


async def test_kill_9_right_after_the_start_answer(tmp_path: Path) -> None:
    """The kill lands within ms of the CSMS's StartTransaction answer (field hardening 6):
    after the restart the local transaction and the queue agree on the CSMS id, a Start
    sent again carries the same message id, and the Stop goes to the CSMS's transaction."""
    for delay_ms in (0, 2, 10):
        data = tmp_path / f"run{delay_ms}"
        data.mkdir()
        csms_port, sim_port = free_port(), free_port()
        procs: list[subprocess.Popen[bytes]] = []

        async def kill_after_start(
            _side: Any,
            msg: Any,
            delay: float = delay_ms / 1000,
            procs: list[subprocess.Popen[bytes]] = procs,
        ) -> None:
            if msg.action == "StartTransaction" and len(procs) == 1:
                await asyncio.sleep(delay)
                os.killpg(procs[0].pid, signal.SIGKILL)

        csms = await Csms(Quirks(after=kill_after_start)).start(csms_port)
        try:
            procs.append(spawn(data, csms_port, sim_port))
            async with aiohttp.ClientSession() as http:
                for _ in range(300):
                    if await agent_view(http, sim_port) is not None:
                        break
                    await asyncio.sleep(0.05)
                await sim(http, sim_port, "POST", "/sim/connectors/1/plug")
                await asyncio.to_thread(procs[0].wait, 20)
                procs.append(spawn(data, csms_port, sim_port))
                for _ in range(300):
                    if await agent_view(http, sim_port) is not None:
                        break
                    await asyncio.sleep(0.05)
                await until(
                    lambda data=data: (
                        all(r[1] is not None for r in local_remote_ids(data))
                        and bool(local_remote_ids(data))
                    ),
                    20,
                    "remote id on the local transaction",
                )
            # the answer was lost with the process (killed before it could be read) or
            # kept: either way one message id, so a de-duplicating CSMS records one
            starts = csms.calls("StartTransaction")
            assert len({m.unique_id for m in starts}) == 1, delay_ms
            await csms.wait_for("StopTransaction", within=20)  # recovery closes it
            [(_local, tx_remote, queue_remote)] = local_remote_ids(data)
            assert tx_remote == str(queue_remote)
            stop = csms.calls("StopTransaction")[0]
            assert stop.payload["transactionId"] == queue_remote
        finally:
            for p in procs:
                if p.poll() is None:
                    os.killpg(p.pid, signal.SIGKILL)
                    await asyncio.to_thread(p.wait, 10)
            await csms.stop()
