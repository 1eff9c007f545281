"""E Transactions over OCPP 2.0.1 against a real v201 CSMS: TransactionEvent Started /
Updated / Ended with our transactionId, continuous seqNo, triggers, the offline flag."""

from __future__ import annotations

import asyncio

from ocpp.v201 import call

from tests.ocpp.conftest import AgentFactory, until
from tests.ocpp.csms import Quirks
from tests.ocpp.csms201 import Csms201
from tests.ocpp.v201.stories import assert_sequence, events, of_transaction, online
from tests.ports import free_port


async def test_boot_and_status_per_evse(csms: Csms201, agent_factory: AgentFactory) -> None:
    await online(csms, agent_factory, connectors=2)
    boot = csms.calls("BootNotification")[0].payload
    assert boot["reason"] == "PowerUp"
    assert boot["chargingStation"]["vendorName"] == "NCPA"
    await csms.wait_for("StatusNotification", 2)
    statuses = [m.payload for m in csms.calls("StatusNotification")]
    assert sorted((s["evseId"], s["connectorId"]) for s in statuses) == [(1, 1), (2, 1)]
    assert {s["connectorStatus"] for s in statuses} == {"Available"}


async def test_plug_first_session(csms: Csms201, agent_factory: AgentFactory) -> None:
    agent = await online(csms, agent_factory, settings={"MeterValueSampleInterval": "1"})
    await agent.plug(1)
    occupied = await csms.wait_for(
        "StatusNotification", pred=lambda m: m.payload["connectorStatus"] == "Occupied"
    )
    assert occupied[0].payload["evseId"] == 1
    await agent.station.remote_start("CARD1", 1)
    started = (await csms.wait_for("TransactionEvent"))[0].payload
    assert started["eventType"] == "Started"
    assert started["idToken"] == {"idToken": "CARD1", "type": "ISO14443"}
    assert started["evse"] == {"id": 1, "connectorId": 1}
    assert started["meterValue"][0]["sampledValue"][0]["context"] == "Transaction.Begin"
    tx = started["transactionInfo"]["transactionId"]
    await csms.wait_for(
        "TransactionEvent", pred=lambda m: m.payload["triggerReason"] == "ChargingStateChanged"
    )
    await csms.wait_for(
        "TransactionEvent", pred=lambda m: m.payload["triggerReason"] == "MeterValuePeriodic"
    )
    await agent.unplug(1)
    ended = (
        await csms.wait_for("TransactionEvent", pred=lambda m: m.payload["eventType"] == "Ended")
    )[0].payload
    assert ended["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    assert ended["triggerReason"] == "EVCommunicationLost"
    assert_sequence(of_transaction(csms, tx))
    # the local transaction knows its id, and the status after it is Available
    await csms.wait_for(
        "StatusNotification",
        pred=lambda m: m.payload["connectorStatus"] == "Available",
        count=2,
    )
    records = await agent.station.store.transactions()
    assert records[0].remote_id == tx


async def test_remote_start_echoes_the_remote_start_id(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    await agent.plug(1)
    res = await csms.call(
        call.RequestStartTransaction(
            id_token={"id_token": "APP7", "type": "Central"}, remote_start_id=42, evse_id=1
        )
    )
    assert res.status == "Accepted"
    started = (await csms.wait_for("TransactionEvent"))[0].payload
    assert started["transactionInfo"]["remoteStartId"] == 42
    assert started["triggerReason"] == "RemoteStart"
    assert started["idToken"]["type"] == "Central"
    tx = started["transactionInfo"]["transactionId"]
    res = await csms.call(call.RequestStopTransaction(transaction_id=tx))
    assert res.status == "Accepted"
    ended = (
        await csms.wait_for("TransactionEvent", pred=lambda m: m.payload["eventType"] == "Ended")
    )[0].payload
    assert ended["transactionInfo"]["stoppedReason"] == "Remote"
    assert (await csms.call(call.RequestStopTransaction(transaction_id="nope-1"))).status == (
        "Rejected"
    )


async def test_offline_transaction_then_ordered_delivery(agent_factory: AgentFactory) -> None:
    port = free_port()
    agent = await agent_factory(f"ws://127.0.0.1:{port}/ocpp", version="2.0.1")
    await agent.plug(1)
    await agent.station.remote_start("CARD9", 1)
    await agent.status(1, "Charging")
    await asyncio.sleep(0.3)
    agent.plant.unplug(1)
    await agent.status(1, "Available")
    await agent.client.recorder.flush()
    csms = await Csms201(Quirks(subprotocols=["ocpp2.0.1"])).start(port)
    try:
        await csms.wait_for(
            "TransactionEvent", pred=lambda m: m.payload["eventType"] == "Ended", within=15
        )
        evs = events(csms)
        assert_sequence(evs)
        assert all(e.get("offline") is True for e in evs)
        stamps = [e["timestamp"] for e in evs]
        assert stamps == sorted(stamps)
        # answered before the CSMS goes (else the stop of the test waits for the Ended)
        assert await agent.client.outbox.drained("stop", 5)
    finally:
        await csms.stop()


async def test_get_transaction_status(csms: Csms201, agent_factory: AgentFactory) -> None:
    agent = await online(csms, agent_factory)
    await agent.start_charging(1, "CARD1")
    started = (await csms.wait_for("TransactionEvent"))[0].payload
    tx = started["transactionInfo"]["transactionId"]
    await until(lambda: agent.station.view(1).status == "Charging", 5)
    res = await csms.call(call.GetTransactionStatus(transaction_id=tx))
    assert res.ongoing_indicator is True
    res = await csms.call(call.GetTransactionStatus(transaction_id="other-1"))
    assert res.ongoing_indicator is False and res.messages_in_queue is False
