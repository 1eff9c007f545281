"""The registration rules of the version-neutral session under 1.6 (the 2.0.1 stories are
in tests/ocpp/v201/test_provisioning.py): Pending refuses remote start and stop, Rejected
answers nothing but a triggered BootNotification."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from ocpp.v16 import call

from tests.ocpp.conftest import AgentFactory, until
from tests.ocpp.csms import Csms, Quirks


async def registration(client: Any, wanted: str) -> None:
    await until(lambda: client.session is not None and client.session.registration == wanted)


async def test_pending_refuses_remote_start_and_stop(
    csms_factory: Callable[..., Awaitable[Csms]], agent_factory: AgentFactory
) -> None:
    csms: Csms = await csms_factory(Quirks(boot=["Pending"] * 100, boot_interval=1))
    agent = await agent_factory(csms.url)
    await registration(agent.client, "Pending")
    await agent.plug(1)
    start = await csms.call(call.RemoteStartTransaction(id_tag="CARD1", connector_id=1))
    assert start.status == "Rejected"
    stop = await csms.call(call.RemoteStopTransaction(transaction_id=1))
    assert stop.status == "Rejected"
    conf = await csms.call(call.GetConfiguration(key=["HeartbeatInterval"]))
    assert conf.configuration_key[0]["value"] == "300"  # answered while Pending
    assert agent.station.view(1).transaction is None
    assert {m.action for m in csms.received} == {"BootNotification"}
    csms.quirks.boot.clear()
    await agent.accepted()
    start = await csms.call(call.RemoteStartTransaction(id_tag="CARD1", connector_id=1))
    assert start.status == "Accepted"
    await agent.transaction(1)


async def test_rejected_answers_only_a_boot_trigger(
    csms_factory: Callable[..., Awaitable[Csms]], agent_factory: AgentFactory
) -> None:
    csms: Csms = await csms_factory(Quirks(boot=["Rejected"] * 100, boot_interval=30))
    agent = await agent_factory(csms.url)
    await registration(agent.client, "Rejected")
    await csms.send_raw(json.dumps([2, "conf-1", "GetConfiguration", {}]))
    assert await csms.raw_answer("conf-1", within=1.0) is None
    await csms.send_raw(
        json.dumps([2, "trig-1", "TriggerMessage", {"requestedMessage": "Heartbeat"}])
    )
    assert await csms.raw_answer("trig-1", within=0.3) is None
    assert {m.action for m in csms.received} == {"BootNotification"}
    csms.quirks.boot.clear()
    await csms.send_raw(
        json.dumps([2, "trig-2", "TriggerMessage", {"requestedMessage": "BootNotification"}])
    )
    answer = await csms.raw_answer("trig-2")
    assert answer is not None and answer[2] == {"status": "Accepted"}
    await agent.accepted()
    assert len(csms.calls("BootNotification")) == 2
