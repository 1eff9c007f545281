"""A Reset or a stop during a transaction (field hardening 2): the StopTransaction reaches
the CSMS, answered, before the connection closes for the reboot, not after the next boot."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import aiohttp
from ocpp.v16 import call

from ncpa.charging.states import StopReason
from tests.ocpp.conftest import AgentFactory, until
from tests.ocpp.csms import Csms, Quirks
from tests.ocpp.daemon import agent_view, free_port, sim, spawn


async def charging(csms: Csms, agent_factory: AgentFactory, **kw: object):  # type: ignore[no-untyped-def]
    agent = await agent_factory(csms.url, **kw)
    await agent.accepted()
    await agent.start_charging(1, "TAG")
    await csms.wait_for("StartTransaction")
    return agent


async def test_soft_reset_sends_the_stop_before_the_connection_closes(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await charging(csms, agent_factory)
    seen_at_reset: list[list[str]] = []
    agent.client.on_reset = lambda kind: seen_at_reset.append([m.action for m in csms.received])
    assert (await csms.call(call.Reset(type="Soft"))).status == "Accepted"
    await until(lambda: seen_at_reset != [], 10, "restart requested")
    # the Stop was delivered (and answered: the outbox is empty of it) before the restart
    assert "StopTransaction" in seen_at_reset[0]
    stop = csms.calls("StopTransaction")[0]
    assert stop.payload["reason"] == "SoftReset"
    assert (await agent.client.outbox.depth()).get("stop", 0) == 0


async def test_hard_reset_without_restart_hook_stops_before_the_new_boot(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    await charging(csms, agent_factory)
    assert (await csms.call(call.Reset(type="Hard"))).status == "Accepted"
    await csms.wait_for("BootNotification", 2)
    actions = [m.action for m in csms.received]
    second_boot = [i for i, a in enumerate(actions) if a == "BootNotification"][1]
    assert actions.index("StopTransaction") < second_boot
    assert csms.calls("StopTransaction")[0].payload["reason"] == "HardReset"


async def test_a_csms_that_never_answers_the_stop_holds_a_reset_only_so_long(
    csms_factory, agent_factory: AgentFactory
) -> None:
    csms = await csms_factory(Quirks(never_answer={"StopTransaction"}))
    agent = await charging(csms, agent_factory, shutdown_drain=1.5)
    resets: list[str] = []
    agent.client.on_reset = resets.append
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    assert (await csms.call(call.Reset(type="Soft"))).status == "Accepted"
    await until(lambda: resets == ["Soft"], 10, "restart requested")
    assert loop.time() - t0 < 8
    # not answered: still queued, sent again after the reboot
    assert (await agent.client.outbox.depth()).get("stop") == 1


async def test_stop_of_the_client_after_the_core_delivers_the_stop(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    """The daemon's order on SIGTERM: the core ends the sessions, then the client stops."""
    agent = await charging(csms, agent_factory)
    await agent.station.stop(StopReason.REBOOT)
    await agent.client.stop()
    stops = csms.calls("StopTransaction")
    assert [m.payload["reason"] for m in stops] == ["Reboot"]


async def test_sigterm_of_the_daemon_delivers_the_stop_first(tmp_path: Path) -> None:
    csms_port, sim_port = free_port(), free_port()
    csms = await Csms(Quirks()).start(csms_port)
    proc = spawn(tmp_path, csms_port, sim_port)
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                view = await agent_view(http, sim_port)
                if view is not None:
                    break
                await asyncio.sleep(0.05)
            await sim(http, sim_port, "POST", "/sim/connectors/1/plug")
            await csms.wait_for("StartTransaction", within=20)
        os.killpg(proc.pid, signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 30) == 0
        stops = csms.calls("StopTransaction")
        assert [m.payload["reason"] for m in stops] == ["Reboot"]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            await asyncio.to_thread(proc.wait, 10)
        await csms.stop()
