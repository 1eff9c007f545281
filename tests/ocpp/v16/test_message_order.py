"""The order of status and transaction messages (OCPP 1.6 §4.9 and the session diagrams):
the CSMS learns of a transaction before the status that depends on it, in the order
things happened, online and through an outage (field hardening 3)."""

from __future__ import annotations

import asyncio

from tests.ocpp.conftest import Agent, AgentFactory, until
from tests.ocpp.csms import Csms, Quirks
from tests.ports import free_port

TX = ("StartTransaction", "StopTransaction")


def story(csms: Csms, connector: int = 1) -> list[str]:
    """The connector's statuses and transaction messages as the CSMS received them."""
    out = []
    for m in csms.received:
        if m.action == "StatusNotification" and m.payload["connectorId"] == connector:
            out.append(m.payload["status"])
        elif m.action in TX:
            out.append(m.action)
    return out


def assert_causal(seen: list[str]) -> None:
    """Charging-side statuses only after the Start; the end only after the Stop."""
    start = seen.index("StartTransaction")
    stop = seen.index("StopTransaction")
    assert start < stop
    for i, status in enumerate(seen):
        if status in ("Charging", "SuspendedEV", "SuspendedEVSE"):
            assert start < i < stop, seen
    after_stop = [s for s in seen[stop + 1 :] if s not in TX]
    assert after_stop and after_stop[-1] == "Available", seen
    assert "Charging" not in seen[stop:], seen


async def session(agent: Agent) -> None:
    await agent.plug(1)
    await agent.station.remote_start("TAG", 1)
    await agent.status(1, "Charging")
    await asyncio.sleep(0.3)
    agent.plant.unplug(1)
    await agent.status(1, "Available")
    await agent.client.recorder.flush()


async def test_online_statuses_follow_the_transaction_messages(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await agent_factory(csms.url)
    await agent.accepted()
    await csms.wait_for("StatusNotification", 2)
    await session(agent)
    await csms.wait_for("StopTransaction")
    await until(lambda: story(csms)[-1:] == ["Available"], 10, "Available after the Stop")
    seen = story(csms)
    assert seen[0] == "Available"  # after boot
    assert "Preparing" in seen[: seen.index("StartTransaction")]
    assert_causal(seen)


async def test_statuses_of_an_outage_arrive_in_order_after_the_transaction(
    agent_factory: AgentFactory,
) -> None:
    port = free_port()
    agent = await agent_factory(f"ws://127.0.0.1:{port}/ocpp")
    await session(agent)
    csms = await Csms(Quirks()).start(port)
    try:
        await csms.wait_for("StopTransaction")
        await until(lambda: story(csms)[-1:] == ["Available"], 10, "Available after the Stop")
        seen = story(csms)
        assert seen.count("StartTransaction") == 1
        assert_causal(seen)
        # each status carries the time it happened, not the time it was sent
        stamps = [m.payload["timestamp"] for m in csms.calls("StatusNotification")]
        assert stamps == sorted(stamps)
    finally:
        await csms.stop()


async def test_a_long_outage_keeps_one_status_per_connector_between_messages(
    agent_factory: AgentFactory,
) -> None:
    port = free_port()
    agent = await agent_factory(f"ws://127.0.0.1:{port}/ocpp")
    for _ in range(20):  # the EV pauses and resumes many times, offline
        agent.plant.plug(1)
        await agent.status(1, "Preparing")
        agent.plant.unplug(1)
        await agent.status(1, "Available")
    await agent.client.recorder.flush()
    depth = await agent.client.outbox.depth()
    assert depth.get("status", 0) <= 2  # connector 1 (and at most the one before)
