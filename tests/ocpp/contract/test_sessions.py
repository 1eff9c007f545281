"""The same session stories under OCPP 1.6 and 2.0.1 (one core, two adapters): what a
driver and a CSMS see does not depend on the version, only the words on the wire do."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from tests.ocpp.conftest import Agent, AgentFactory, until
from tests.ocpp.contract.conftest import RESET_REASON, Peer, assert_exactly_once
from tests.ocpp.daemon import free_port, kill9, sim, spawn, wait_view


async def remote_id(agent: Agent) -> str:
    """The CSMS's name of the newest local transaction, once its start was answered."""
    names: list[str] = []

    async def poll() -> bool:
        records = await agent.station.store.transactions()
        names[:] = [r.remote_id for r in records[:1] if r.remote_id]
        return bool(names)

    for _ in range(500):
        if await poll():
            return names[0]
        await asyncio.sleep(0.02)
    raise AssertionError("the start was never answered")


async def test_boot_accepted(peer: Peer, agent_factory: AgentFactory) -> None:
    agent = await peer.agent(agent_factory)
    await agent.accepted()
    assert len(peer.boots()) == 1
    await until(lambda: "Available" in peer.statuses(), 5, "Available")


async def test_plug_first_session_ends_with_ev_disconnected(
    peer: Peer, agent_factory: AgentFactory
) -> None:
    agent = await peer.agent(agent_factory)
    await agent.accepted()
    await agent.plug(1)
    assert await agent.station.present_card("CARD1") == "Accepted"
    start = await peer.wait_start()
    assert start.id_token == "CARD1"
    await agent.status(1, "Charging")
    await agent.unplug(1)
    [stop] = await peer.wait_stop()
    assert stop.reason == "EVDisconnected"
    assert stop.tx == await remote_id(agent)
    assert_exactly_once(peer)


async def test_card_first_session(peer: Peer, agent_factory: AgentFactory) -> None:
    agent = await peer.agent(agent_factory)
    await agent.accepted()
    assert await agent.station.present_card("CARD2") == "Accepted"
    assert not peer.once("start")  # nothing starts before the cable is in
    await agent.plug(1)
    assert (await peer.wait_start()).id_token == "CARD2"
    await agent.status(1, "Charging")
    assert await agent.station.present_card("CARD2") == "Accepted"  # the same card stops it
    [stop] = await peer.wait_stop()
    assert stop.reason == "Local"
    assert_exactly_once(peer)


async def test_remote_start_and_stop(peer: Peer, agent_factory: AgentFactory) -> None:
    agent = await peer.agent(agent_factory)
    await agent.accepted()
    await agent.plug(1)
    assert await peer.remote_start("APP1") == "Accepted"
    assert (await peer.wait_start()).id_token == "APP1"
    tx = await remote_id(agent)
    assert await peer.remote_stop(tx) == "Accepted"
    [stop] = await peer.wait_stop()
    assert stop.reason == "Remote" and stop.tx == tx
    assert await peer.remote_stop(tx) == "Rejected"  # over already
    assert_exactly_once(peer)


async def test_offline_session_then_ordered_delivery_exactly_once(
    version: str, agent_factory: AgentFactory
) -> None:
    peer = Peer(version, free_port())
    agent = await peer.agent(agent_factory, settings={"MeterValueSampleInterval": "1"})
    await agent.start_charging(1, "CARD9")
    await agent.status(1, "Charging")
    await asyncio.sleep(1.3)  # a sampled value or two, queued
    await agent.unplug(1)
    await agent.client.recorder.flush()
    await peer.start()
    try:
        await peer.wait_stop(within=20)
        assert_exactly_once(peer)
        kinds = [t.kind for t in peer.tx_messages()]
        assert kinds[0] == "start" and kinds[-1] == "stop" and "update" in kinds, kinds
        if version == "2.0.1":
            assert all(t.offline for t in peer.tx_messages())
        assert await agent.client.outbox.drained("stop", 5)
    finally:
        await peer.stop()


async def test_reset_during_a_transaction_sends_the_stop_first(
    peer: Peer, agent_factory: AgentFactory
) -> None:
    agent = await peer.agent(agent_factory)
    await agent.accepted()
    await agent.start_charging(1, "CARD3")
    await peer.wait_start()
    assert await peer.reset() == "Accepted"
    [stop] = await peer.wait_stop()
    assert stop.reason == RESET_REASON[peer.version]
    await until(lambda: len(peer.boots()) == 2, 15, "booted again")
    # the stop was answered before the connection closed for the reboot
    received = [m.action for m in peer.csms.received]
    stop_at = next(i for i, m in enumerate(peer.csms.received) if m.unique_id == stop.unique_id)
    assert received.index("BootNotification", 1) > stop_at
    assert peer.boots()[-1].payload.get("reason", "RemoteReset") == "RemoteReset"
    assert_exactly_once(peer)


async def test_kill_9_mid_transaction_leaves_one_power_loss_stop(
    version: str, tmp_path: Path
) -> None:
    """The real daemon, killed while charging: after the restart exactly one stop, for the
    transaction the CSMS knows, with the reason PowerLoss."""
    peer = await Peer(version, free_port()).start()
    sim_port = free_port()
    proc = spawn(tmp_path, peer.port, sim_port, version=version)
    try:
        async with aiohttp.ClientSession() as http:
            await wait_view(http, sim_port, lambda v: True, "up")
            await sim(http, sim_port, "POST", "/sim/connectors/1/plug")
            start = await peer.wait_start(within=20)
            await asyncio.sleep(0.5)
            await kill9(proc)
            proc = spawn(tmp_path, peer.port, sim_port, version=version)
            [stop] = await peer.wait_stop(within=30)
            await asyncio.sleep(0.5)  # a second stop would come now
        assert stop.reason == "PowerLoss"
        assert len(peer.once("stop")) == 1 and len(peer.once("start")) == 1
        if version == "2.0.1":
            assert stop.tx == start.tx
        assert_exactly_once(peer)
    finally:
        await kill9(proc)
        await peer.stop()
