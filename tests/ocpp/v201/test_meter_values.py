"""J Meter values over OCPP 2.0.1 against a real v201 CSMS: sampled (TxUpdated, TxStarted,
TxEnded) and clock-aligned (AlignedDataCtrlr) values, set through the device model, in the
2.0.1 sampledValue format (the CSMS side validates every message against its schema)."""

from __future__ import annotations

import asyncio
from typing import Any

from ocpp.v201 import call

from tests.ocpp.conftest import Agent, AgentFactory
from tests.ocpp.csms201 import Csms201
from tests.ocpp.v201.stories import events, online

ALL = "Energy.Active.Import.Register,Voltage,Current.Import,Power.Active.Import,Current.Offered"


async def set_variables(csms: Csms201, values: dict[str, str]) -> None:
    data = []
    for name, value in values.items():
        component, variable = name.split(".")
        data.append(
            {
                "attribute_value": value,
                "component": {"name": component},
                "variable": {"name": variable},
            }
        )
    res = await csms.call(call.SetVariables(set_variable_data=data))
    assert [r["attribute_status"] for r in res.set_variable_result] == ["Accepted"] * len(data)


def samples(event: dict[str, Any]) -> list[dict[str, Any]]:
    return [sv for mv in event["meterValue"] for sv in mv["sampledValue"]]


def ended(csms: Csms201) -> dict[str, Any]:
    return next(e for e in events(csms) if e["eventType"] == "Ended")


async def charge_for(agent: Agent, seconds: float) -> None:
    await agent.start_charging(1, "CARD1")
    await agent.status(1, "Charging")
    await asyncio.sleep(seconds)
    await agent.unplug(1)


async def test_tx_updated_samples_in_the_2_0_1_format(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    await set_variables(
        csms,
        {"SampledDataCtrlr.TxUpdatedInterval": "1", "SampledDataCtrlr.TxUpdatedMeasurands": ALL},
    )
    await agent.start_charging(1, "CARD1")
    periodic = await csms.wait_for(
        "TransactionEvent", pred=lambda m: m.payload["triggerReason"] == "MeterValuePeriodic"
    )
    svs = samples(periodic[0].payload)
    by = {(sv["measurand"], sv.get("phase")): sv for sv in svs}
    assert set(by) == {
        ("Energy.Active.Import.Register", None),
        ("Power.Active.Import", None),
        ("Current.Offered", None),
        *(("Current.Import", p) for p in ("L1", "L2", "L3")),
        *(("Voltage", p) for p in ("L1-N", "L2-N", "L3-N")),
    }
    units = {"Energy.Active.Import.Register": "Wh", "Power.Active.Import": "W", "Voltage": "V"}
    for (measurand, _), sv in by.items():
        assert isinstance(sv["value"], int | float) and not isinstance(sv["value"], bool)
        assert sv["context"] == "Sample.Periodic" and sv["location"] == "Outlet"
        assert sv["unitOfMeasure"] == {"unit": units.get(measurand, "A")}
    assert by[("Voltage", "L1-N")]["value"] == 230
    assert by[("Current.Offered", None)]["value"] > 0


async def test_tx_started_measurands_go_with_the_meter_start(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    await set_variables(csms, {"SampledDataCtrlr.TxStartedMeasurands": "Voltage,Current.Offered"})
    await agent.plug(1)
    await asyncio.sleep(0.5)  # a reading before the start
    await agent.station.remote_start("CARD1", 1)
    started = (await csms.wait_for("TransactionEvent"))[0].payload
    assert started["eventType"] == "Started"
    assert len(started["meterValue"]) == 1
    svs = samples(started)
    assert {sv["context"] for sv in svs} == {"Transaction.Begin"}
    assert [sv["measurand"] for sv in svs].count("Energy.Active.Import.Register") == 1
    assert {sv["measurand"] for sv in svs} == {
        "Energy.Active.Import.Register",
        "Voltage",
        "Current.Offered",
    }


async def test_tx_ended_measurands_every_tx_ended_interval(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    await set_variables(
        csms,
        {
            "SampledDataCtrlr.TxEndedMeasurands": "Energy.Active.Import.Register,Current.Import",
            "SampledDataCtrlr.TxEndedInterval": "1",
        },
    )
    await charge_for(agent, 2.6)
    await csms.wait_for("TransactionEvent", pred=lambda m: m.payload["eventType"] == "Ended")
    mvs = ended(csms)["meterValue"]
    contexts = [{sv["context"] for sv in mv["sampledValue"]} for mv in mvs]
    assert contexts[-1] == {"Transaction.End"}
    assert contexts.count({"Sample.Periodic"}) >= 2, contexts
    stamps = [mv["timestamp"] for mv in mvs]
    assert stamps == sorted(stamps)
    last = {(sv["measurand"], sv.get("phase")) for sv in mvs[-1]["sampledValue"]}
    assert ("Current.Import", "L1") in last and ("Energy.Active.Import.Register", None) in last
    # the transaction's meter values went in Ended only: no Updated events with them
    assert all(e["triggerReason"] != "MeterValuePeriodic" for e in events(csms))


async def test_aligned_values_outside_and_inside_a_transaction(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    await set_variables(
        csms,
        {
            "AlignedDataCtrlr.Interval": "1",
            "AlignedDataCtrlr.Measurands": "Energy.Active.Import.Register,Voltage",
        },
    )
    idle = (await csms.wait_for("MeterValues", within=5))[0].payload
    assert idle["evseId"] == 1
    assert {sv["context"] for sv in samples(idle)} == {"Sample.Clock"}
    assert {sv["measurand"] for sv in samples(idle)} == {"Energy.Active.Import.Register", "Voltage"}
    await agent.start_charging(1, "CARD1")
    clock = await csms.wait_for(
        "TransactionEvent", pred=lambda m: m.payload["triggerReason"] == "MeterValueClock"
    )
    assert clock[0].payload["eventType"] == "Updated"
    assert {sv["context"] for sv in samples(clock[0].payload)} == {"Sample.Clock"}


async def test_aligned_tx_ended_interval_on_its_own(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    # no aligned Updated events or idle MeterValues (Interval 0), aligned values for Ended
    await set_variables(
        csms,
        {
            "AlignedDataCtrlr.Interval": "0",
            "AlignedDataCtrlr.TxEndedMeasurands": "Energy.Active.Import.Register",
            "AlignedDataCtrlr.TxEndedInterval": "1",
        },
    )
    await charge_for(agent, 2.6)
    await csms.wait_for("TransactionEvent", pred=lambda m: m.payload["eventType"] == "Ended")
    mvs = ended(csms)["meterValue"]
    clock = [mv for mv in mvs if {sv["context"] for sv in mv["sampledValue"]} == {"Sample.Clock"}]
    assert len(clock) >= 2, mvs
    assert all(mv["timestamp"].endswith("Z") for mv in clock)
    assert all(e["triggerReason"] != "MeterValueClock" for e in events(csms))
    assert csms.calls("MeterValues") == []
