"""P DataTransfer over OCPP 2.0.1 against a real v201 CSMS, both ways."""

from __future__ import annotations

import json

import pytest
from ocpp.v201 import call

from ncpa.ocpp.client import NotConnected
from tests.ocpp.conftest import AgentFactory
from tests.ocpp.csms import Csms, Quirks
from tests.ocpp.csms201 import Csms201
from tests.ocpp.v201.stories import online


async def test_station_to_csms_data_transfer_carries_json_verbatim(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    data = {"meter_serial": "A-1", "readings": [1, 2.5], "nested": {"snake_key": True}}
    res = await agent.client.data_transfer("org.ncpa", "MeterInfo", data)
    assert res["status"] == "Accepted"
    sent = csms.calls("DataTransfer")[-1].payload
    assert sent["vendorId"] == "org.ncpa" and sent["messageId"] == "MeterInfo"
    # the data object went out as given: no key renamed on our side
    raw = [json.loads(f) for f in csms.raw_in if '"DataTransfer"' in f][-1]
    assert raw[3]["data"] == data
    unknown = await agent.client.data_transfer("com.other", None, "x")
    assert unknown == {"status": "UnknownVendorId", "data": None}


async def test_data_transfer_refuses_ids_ocpp_cannot_carry_and_offline(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    with pytest.raises(ValueError):
        await agent.client.data_transfer("", "x")
    with pytest.raises(ValueError):
        await agent.client.data_transfer("org.ncpa", "m" * 51)
    assert csms.calls("DataTransfer") == []
    await agent.client.stop()
    with pytest.raises(NotConnected):
        await agent.client.data_transfer("org.ncpa", "x")


async def test_csms_to_station_data_transfer_is_unknown_vendor(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    await online(csms, agent_factory)
    res = await csms.call(call.DataTransfer(vendor_id="com.acme", message_id="x", data={"a": 1}))
    assert res.status == "UnknownVendorId"


async def test_same_operation_under_1_6_sends_json_as_text(
    csms_factory, agent_factory: AgentFactory
) -> None:
    csms: Csms = await csms_factory(Quirks())
    agent = await agent_factory(csms.url)
    await agent.accepted()
    res = await agent.client.data_transfer("org.ncpa", "MeterInfo", {"a": 1})
    assert res["status"] == "Accepted"
    assert json.loads(csms.calls("DataTransfer")[-1].payload["data"]) == {"a": 1}
