"""Helpers for the 2.0.1 stories: an agent that speaks 2.0.1, and what the CSMS saw."""

from __future__ import annotations

from typing import Any

from tests.ocpp.conftest import Agent, AgentFactory
from tests.ocpp.csms import Csms


async def online(csms: Csms, agent_factory: AgentFactory, **kw: Any) -> Agent:
    agent = await agent_factory(csms.url, version="2.0.1", **kw)
    await agent.accepted()
    await csms.wait_for("StatusNotification")
    return agent


def events(csms: Csms) -> list[dict[str, Any]]:
    return [m.payload for m in csms.calls("TransactionEvent")]


def of_transaction(csms: Csms, tx: str) -> list[dict[str, Any]]:
    return [e for e in events(csms) if e["transactionInfo"]["transactionId"] == tx]


def assert_sequence(evs: list[dict[str, Any]]) -> None:
    """One Started first, one Ended last, seqNo 0.. without gaps or repeats."""
    types = [e["eventType"] for e in evs]
    assert types[0] == "Started" and types[-1] == "Ended", types
    assert types.count("Started") == 1 and types.count("Ended") == 1, types
    assert [e["seqNo"] for e in evs] == list(range(len(evs))), [e["seqNo"] for e in evs]


async def power_off(agent: Agent) -> None:
    """Stop the agent cleanly and close its store (a restart on the same data_dir follows)."""
    await agent.client.stop()
    await agent.station.stop()
    await agent.station.store.close()
