"""2.0.1 against the quirks of two reference central systems (INTEROP.md): the cloud
gateway (answers refused, late, out of order, twice) and OCPP.Core (Basic auth, 412, 500)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.ocpp.conftest import AgentFactory, until
from tests.ocpp.interop201 import Gateway, OcppCore201

PLUG_AND_CHARGE = {"authentication_mode": "PLUGNCHARGE"}
KEY = "core-secret-0123456789"


@pytest.fixture
async def servers() -> AsyncIterator[Callable[[Any], Awaitable[Any]]]:
    started: list[Any] = []

    async def start(csms: Any) -> Any:
        started.append(await csms.start())
        return csms

    yield start
    for c in started:
        await c.stop()


def statuses(csms: Gateway, wanted: str) -> int:
    return sum(m.payload["connectorStatus"] == wanted for m in csms.calls("StatusNotification"))


async def test_a_session_at_the_charger_through_the_cloud_gateway(
    servers: Any, agent_factory: AgentFactory
) -> None:
    gw: Gateway = await servers(Gateway())
    settings = {"TransactionMessageAttempts": "3", "TransactionMessageRetryInterval": "2"}
    # shutdown_drain: the stop of the test does not wait for Ended answers that never come
    agent = await agent_factory(gw.url, version="2.0.1", charging=PLUG_AND_CHARGE,
                                settings=settings, shutdown_drain=0.5)  # fmt: skip
    await agent.accepted()
    assert gw.paths[0] == "/CP1"
    await gw.wait_for("StatusNotification")
    # start, charge and stop at the charger while every TransactionEvent is refused
    await agent.plug(1)
    await agent.status(1, "Charging")
    await gw.wait_for("TransactionEvent")
    await agent.unplug(1)
    await agent.status(1, "Available")
    assert (await agent.station.store.transactions())[0].stop_ts
    # nothing blocks: the statuses reach the gateway while the Started waits for a retry
    await until(lambda: statuses(gw, "Available") >= 2, 8, "Available after the session")
    assert (await agent.client.outbox.depth()).get("start") == 1  # overtaken, still kept
    # late answers (after the call timed out) and doubled ones are dropped, the line stays up
    await until(lambda: sum(q.duplicated for q in gw.queues) >= 1, 20, "a doubled answer")
    await until(lambda: sum(q.late_answers for q in gw.queues) >= 1, 20, "a late answer")
    assert gw.connections == 1
    await until(lambda: agent.client.connected.is_set(), 1)
    # bounded: only this session's rows are kept (the Started tried, the rest of its
    # transaction parked behind it in order), every try with one message id and seqNo 0
    outbox = agent.client.outbox
    for _ in range(300):
        if not await outbox.live("start") and not await outbox.live("stop"):
            break
        await asyncio.sleep(0.05)
    depth = await outbox.depth()
    assert depth.get("start") == 1 and depth.get("stop") == 1
    assert not await outbox.live("meter")  # nothing of the transaction is left live
    assert 3 <= await outbox.parked() <= sum(depth.values()) < 20  # one session's rows
    tries = gw.calls("TransactionEvent")
    assert {(m.unique_id, m.payload["seqNo"], m.payload["eventType"]) for m in tries} == {
        (tries[0].unique_id, 0, "Started")
    }
    # the heartbeat keeps going too (its answers are handled, even late)
    beats = len(gw.calls("Heartbeat"))
    await agent.client.session.heartbeat()  # type: ignore[union-attr]
    assert len(gw.calls("Heartbeat")) == beats + 1


async def test_gateway_takes_the_whole_path_as_the_id(
    servers: Any, agent_factory: AgentFactory
) -> None:
    gw: Gateway = await servers(Gateway())
    agent = await agent_factory(gw.url + "/tenant", version="2.0.1")
    # "/tenant/CP1" is the charge point "tenantCP1": unknown, closed with 1008; backoff
    await until(lambda: gw.handshakes >= 2, 10, "retried")
    assert gw.paths[0] == "/tenant/CP1" and not gw.calls("BootNotification")
    assert not agent.client.connected.is_set()


async def test_gateway_without_a_common_subprotocol_closes_plainly(
    servers: Any, agent_factory: AgentFactory
) -> None:
    gw: Gateway = await servers(Gateway(subprotocols=["ocpp1.6", "ocpp2.0"]))
    agent = await agent_factory(gw.url, version="2.0.1")
    await until(lambda: gw.handshakes >= 2, 10, "retried")
    await asyncio.sleep(0.3)
    assert gw.offered[0] == ["ocpp2.0.1"] and not gw.received
    assert not agent.client.connected.is_set()


async def test_ocpp_core_basic_auth_profile_1(servers: Any, agent_factory: AgentFactory) -> None:
    core: OcppCore201 = await servers(OcppCore201(KEY))
    agent = await agent_factory(
        core.url, version="2.0.1", security_profile=1, authorization_key=KEY
    )
    await agent.accepted()
    assert core.paths[0] == "/OCPP/CP1" and core.offered[0] == ["ocpp2.0.1"]
    await agent.start_charging(1, "CARD1")
    await core.wait_for("TransactionEvent", pred=lambda m: m.payload["eventType"] == "Started")


async def test_ocpp_core_unknown_id_gets_412(servers: Any, agent_factory: AgentFactory) -> None:
    core: OcppCore201 = await servers(OcppCore201(KEY))
    core.quirks.known_ids = {"OTHER"}
    agent = await agent_factory(
        core.url, version="2.0.1", security_profile=1, authorization_key=KEY
    )
    await until(lambda: core.handshakes >= 2, 10, "retried after 412")
    assert core.connections == 0 and not agent.client.connected.is_set()


async def test_ocpp_core_500_while_the_old_socket_looks_open(
    servers: Any, agent_factory: AgentFactory
) -> None:
    core: OcppCore201 = await servers(OcppCore201(KEY, stale_for=1.0))
    agent = await agent_factory(
        core.url, version="2.0.1", security_profile=1, authorization_key=KEY
    )
    await agent.accepted()
    agent.client.reconnect()  # e.g. a new AuthorizationKey: a fresh connection at once
    await until(lambda: core.refused_500 >= 1, 10, "refused while the old socket looks open")
    await until(lambda: core.connections == 2, 15, "in again after backing off")
    await agent.accepted()
    await core.wait_for("BootNotification", 2)
