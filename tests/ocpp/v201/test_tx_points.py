"""E Transactions: TxCtrlr.TxStartPoint / TxStopPoint as configured (E01 / E06), against a
real v201 CSMS: the defaults the spec recommends for a socket charger, a transaction begun
at plug-in (EVConnected) and one that outlives its stop until the EV unplugs."""

from __future__ import annotations

from typing import Any

from ocpp.v201 import call

from tests.ocpp.conftest import Agent, AgentFactory, until
from tests.ocpp.csms201 import Csms201
from tests.ocpp.v201.stories import assert_sequence, events, online


def _var(name: str, value: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"component": {"name": "TxCtrlr"}, "variable": {"name": name}}
    if value is not None:
        entry["attribute_value"] = value
    return entry


async def get(csms: Csms201, name: str) -> str:
    res = await csms.call(call.GetVariables(get_variable_data=[_var(name)]))
    result = res.get_variable_result[0]
    assert result["attribute_status"] == "Accepted", result
    return str(result["attribute_value"])


async def set_(csms: Csms201, name: str, value: str) -> str:
    res = await csms.call(call.SetVariables(set_variable_data=[_var(name, value)]))
    return str(res.set_variable_result[0]["attribute_status"])


def ended(csms: Csms201) -> list[dict[str, Any]]:
    return [e for e in events(csms) if e["eventType"] == "Ended"]


async def wait_event(csms: Csms201, **fields: Any) -> dict[str, Any]:
    def match(m: Any) -> bool:
        return all(m.payload.get(k) == v for k, v in fields.items())

    return dict((await csms.wait_for("TransactionEvent", pred=match))[0].payload)


async def plugged_in(
    csms: Csms201, agent_factory: AgentFactory, point: str, value: str, card: bool = False
) -> tuple[Agent, dict[str, Any] | None]:
    """Online with TxCtrlr.<point> = value, the EV plugged in (and a card, if asked): the
    agent and the Started event when one came."""
    agent = await online(csms, agent_factory)
    assert await set_(csms, point, value) == "Accepted"
    await agent.plug(1)
    if card:
        assert await agent.station.present_card("CAFE01") == "Accepted"
    if card or ("EVConnected" in value and point == "TxStartPoint"):
        return agent, await wait_event(csms, eventType="Started")
    return agent, None


def power(agent: Agent) -> tuple[bool, float]:
    c = agent.plant.connectors[1]
    return c.contactor_cmd, c.offered_a


async def test_defaults_as_recommended_and_what_cannot_be_honoured_is_rejected(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    await online(csms, agent_factory)
    assert await get(csms, "TxStartPoint") == "PowerPathClosed"
    assert await get(csms, "TxStopPoint") == "EVConnected,Authorized"
    report = await csms.call(
        call.GetVariables(get_variable_data=[{**_var("TxStartPoint"), "attribute_type": "Actual"}])
    )
    assert report.get_variable_result[0]["attribute_status"] == "Accepted"
    # no parking bay sensor, no signed meter, no start before the plug: refused, unchanged
    for value in ("ParkingBayOccupancy", "DataSigned", "EnergyTransfer", "EVConnected,Nope", ""):
        assert await set_(csms, "TxStartPoint", value) == "Rejected", value
    for value in ("EnergyTransfer", "ParkingBayOccupancy", " , "):
        assert await set_(csms, "TxStopPoint", value) == "Rejected", value
    assert await get(csms, "TxStartPoint") == "PowerPathClosed"
    assert await get(csms, "TxStopPoint") == "EVConnected,Authorized"
    assert await set_(csms, "TxStopPoint", "PowerPathClosed") == "Accepted"
    assert await get(csms, "TxStopPoint") == "PowerPathClosed"


async def test_default_plug_first_starts_only_once_authorized(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    await agent.plug(1)
    await csms.wait_for(
        "StatusNotification", pred=lambda m: m.payload["connectorStatus"] == "Occupied"
    )
    assert not csms.calls("TransactionEvent")  # PowerPathClosed: no transaction yet
    assert await agent.station.present_card("CAFE01") == "Accepted"
    started = await wait_event(csms, eventType="Started")
    assert started["triggerReason"] == "Authorized"
    assert started["idToken"]["idToken"] == "CAFE01"


async def test_ev_connected_start_then_card_then_unplug(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent, started = await plugged_in(csms, agent_factory, "TxStartPoint", "EVConnected")
    assert started is not None
    # E01.FR.02: begun at plug-in, without an idToken, no power yet
    assert started["triggerReason"] == "CablePluggedIn"
    assert "idToken" not in started
    assert started["transactionInfo"]["chargingState"] == "EVConnected"
    assert started["evse"] == {"id": 1, "connectorId": 1}
    tx = started["transactionInfo"]["transactionId"]
    local = await agent.transaction(1)
    assert power(agent) == (False, 0.0)
    assert not agent.plant.connectors[1].locked  # the driver may still leave
    assert agent.station.view(1).status == "Preparing"

    assert await agent.station.present_card("CAFE01") == "Accepted"
    updated = await wait_event(csms, eventType="Updated", triggerReason="Authorized")
    assert updated["idToken"] == {"idToken": "CAFE01", "type": "ISO14443"}
    assert updated["transactionInfo"]["transactionId"] == tx
    await agent.status(1, "Charging")
    assert agent.plant.connectors[1].locked
    # the same transaction: no second one, and the record learnt the card
    assert await agent.transaction(1) == local
    record = await agent.station.store.transaction(local)
    assert record is not None and record.id_tag == "CAFE01"

    await agent.unplug(1)
    end = await wait_event(csms, eventType="Ended")
    assert end["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    assert end["triggerReason"] == "EVCommunicationLost"
    assert [e["eventType"] for e in events(csms)].count("Started") == 1
    assert_sequence(events(csms))


async def test_ev_connected_start_and_the_ev_leaves_unauthorized(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    assert await set_(csms, "TxStartPoint", "EVConnected,PowerPathClosed") == "Accepted"
    agent.plant.plug(1)
    started = await wait_event(csms, eventType="Started")
    local = await agent.transaction(1)
    agent.plant.unplug(1)
    end = await wait_event(csms, eventType="Ended")
    assert end["transactionInfo"]["transactionId"] == started["transactionInfo"]["transactionId"]
    assert end["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    assert "idToken" not in end
    record = await agent.station.store.transaction(local)
    assert record is not None and record.id_tag == "" and record.consumed_wh == 0
    assert_sequence(events(csms))
    await agent.status(1, "Available")


async def test_ev_connected_start_authorized_by_request_start_transaction(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent, started = await plugged_in(csms, agent_factory, "TxStartPoint", "EVConnected")
    assert started is not None
    res = await csms.call(
        call.RequestStartTransaction(
            id_token={"id_token": "APP7", "type": "Central"}, remote_start_id=77, evse_id=1
        )
    )
    assert res.status == "Accepted", res.status_info
    # F01: the answer names the transaction begun already
    assert res.transaction_id == started["transactionInfo"]["transactionId"]
    updated = await wait_event(csms, eventType="Updated", triggerReason="RemoteStart")
    assert updated["transactionInfo"]["remoteStartId"] == 77
    assert updated["idToken"]["type"] == "Central"
    assert (
        updated["transactionInfo"]["transactionId"] == started["transactionInfo"]["transactionId"]
    )
    await agent.status(1, "Charging")


async def test_stop_point_ev_connected_a_stop_deauthorizes_and_the_unplug_ends_it(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent, started = await plugged_in(csms, agent_factory, "TxStopPoint", "EVConnected", True)
    assert started is not None
    tx = started["transactionInfo"]["transactionId"]
    await agent.status(1, "Charging")
    res = await csms.call(call.RequestStopTransaction(transaction_id=tx))
    assert res.status == "Accepted"
    stopped = await wait_event(csms, eventType="Updated", triggerReason="RemoteStop")
    assert stopped["transactionInfo"]["chargingState"] == "EVConnected"
    # power off and the cable free, the transaction still open until the EV goes
    await agent.status(1, "Finishing")
    await until(lambda: power(agent) == (False, 0.0), what="power off")
    await until(lambda: not agent.plant.connectors[1].locked, what="cable released")
    assert agent.station.view(1).transaction is not None
    assert not ended(csms)
    # a second stop changes nothing; the transaction is still the CSMS's to see
    assert (await csms.call(call.RequestStopTransaction(transaction_id=tx))).status == "Accepted"
    status = await csms.call(call.GetTransactionStatus(transaction_id=tx))
    assert status.ongoing_indicator is True
    # a card of the driver does not start power again
    assert await agent.station.present_card("CAFE01") == "Accepted"
    assert power(agent) == (False, 0.0)
    agent.plant.unplug(1)
    end = await wait_event(csms, eventType="Ended")
    assert end["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    assert end["triggerReason"] == "EVCommunicationLost"
    assert len(ended(csms)) == 1
    assert_sequence(events(csms))


async def test_stop_point_with_authorized_ends_at_the_stop(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent, _ = await plugged_in(csms, agent_factory, "TxStopPoint", "Authorized", card=True)
    await agent.status(1, "Charging")
    assert await agent.station.present_card("CAFE01") == "Accepted"
    end = await wait_event(csms, eventType="Ended")
    assert end["transactionInfo"]["stoppedReason"] == "Local"
    assert end["triggerReason"] == "StopAuthorized"


async def test_the_points_are_kept_and_1_6_keeps_its_own(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    assert await set_(csms, "TxStartPoint", "EVConnected") == "Accepted"
    assert agent.station.tx_points.start_on_connect
    # the same stored value, read back by a fresh settings engine (a restart)
    from ncpa.ocpp.settings import OcppSettings

    again = OcppSettings(agent.station.store)
    await again.load()
    assert again.get("TxStartPoint") == "EVConnected"
    # under 1.6 (a CSMS that picks it) the core keeps 1.6's points
    from ncpa.ocpp.v16.adapter import V16Adapter

    assert not V16Adapter().tx_points(again).start_on_connect


async def test_authorized_start_before_the_plug_then_the_ev_comes(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    assert await set_(csms, "TxStartPoint", "Authorized") == "Accepted"
    assert await agent.station.present_card("CAFE01") == "Accepted"
    started = await wait_event(csms, eventType="Started")
    # E01.FR.03: begun at the authorization; no EV, so Idle, no power and an open socket
    assert started["triggerReason"] == "Authorized"
    assert started["idToken"]["idToken"] == "CAFE01"
    assert started["transactionInfo"]["chargingState"] == "Idle"
    assert power(agent) == (False, 0.0) and not agent.plant.connectors[1].locked
    await agent.plug(1)
    plugged = await wait_event(csms, eventType="Updated", triggerReason="CablePluggedIn")
    assert plugged["transactionInfo"]["chargingState"] == "EVConnected"
    await agent.status(1, "Charging")
    assert agent.plant.connectors[1].locked
    await agent.unplug(1)
    end = await wait_event(csms, eventType="Ended")
    assert end["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    assert_sequence(events(csms))
    assert len({e["transactionInfo"]["transactionId"] for e in events(csms)}) == 1


async def test_authorized_start_and_no_ev_within_the_connection_timeout(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    assert await set_(csms, "TxStartPoint", "Authorized") == "Accepted"
    res = await csms.call(
        call.SetVariables(
            set_variable_data=[
                {
                    "component": {"name": "TxCtrlr"},
                    "variable": {"name": "EVConnectionTimeOut"},
                    "attribute_value": "1",
                }
            ]
        )
    )
    assert res.set_variable_result[0]["attribute_status"] == "Accepted"
    res = await csms.call(
        call.RequestStartTransaction(
            id_token={"id_token": "APP7", "type": "Central"}, remote_start_id=5, evse_id=1
        )
    )
    assert res.status == "Accepted"
    started = await wait_event(csms, eventType="Started")
    assert started["triggerReason"] == "RemoteStart"
    assert started["transactionInfo"]["remoteStartId"] == 5
    end = await wait_event(csms, eventType="Ended")
    assert end["triggerReason"] == "EVConnectTimeout"
    assert end["transactionInfo"]["stoppedReason"] == "Timeout"
    assert_sequence(events(csms))
    await agent.status(1, "Available")
    # the next EV starts nothing by itself (TxStartPoint Authorized only)
    agent.plant.plug(1)
    await agent.status(1, "Preparing")
    assert agent.station.view(1).transaction is None


async def test_authorized_start_on_two_evses_waits_for_the_plug_to_know_which(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory, connectors=2)
    assert await set_(csms, "TxStartPoint", "Authorized") == "Accepted"
    assert await agent.station.present_card("CAFE01") == "Accepted"
    await agent.plug(2)
    started = await wait_event(csms, eventType="Started")
    assert started["evse"] == {"id": 2, "connectorId": 1}
    assert started["transactionInfo"]["chargingState"] == "EVConnected"
