"""B Provisioning over OCPP 2.0.1 against a real v201 CSMS: Pending and Rejected boots,
GetVariables / SetVariables with every status, base reports and GetReport in parts,
Reset OnIdle and Immediate, the boot reasons after them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from ocpp.v201 import call

from tests.ocpp.conftest import AgentFactory, until
from tests.ocpp.csms import Quirks
from tests.ocpp.csms201 import Csms201
from tests.ocpp.v201.stories import online, power_off


def cv(component: str, variable: str, **kw: Any) -> dict[str, Any]:
    comp: dict[str, Any] = {"name": component}
    if "evse" in kw:
        comp["evse"] = kw.pop("evse")
    var: dict[str, Any] = {"name": variable}
    if "instance" in kw:
        var["instance"] = kw.pop("instance")
    return {"component": comp, "variable": var, **kw}


async def reports(csms: Csms201, request_id: int) -> list[dict[str, Any]]:
    """The NotifyReport parts of one request, once the last (tbc false) came."""

    def parts() -> list[dict[str, Any]]:
        return [
            m.payload for m in csms.calls("NotifyReport") if m.payload["requestId"] == request_id
        ]

    await until(lambda: any(not p.get("tbc", False) for p in parts()), 10, "last report part")
    return parts()


def reported(parts: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    out = {}
    for part in parts:
        for d in part.get("reportData", []):
            comp, var = d["component"], d["variable"]
            key = (
                comp["name"],
                (comp.get("evse") or {}).get("id"),
                var["name"],
                var.get("instance"),
            )
            out[key] = d
    return out


# -- Pending / Rejected ------------------------------------------------------------------


async def test_pending_answers_get_set_variables_and_base_report(
    agent_factory: AgentFactory, csms201_factory: Any
) -> None:
    csms = await csms201_factory(Quirks(boot=["Pending"] * 100, boot_interval=1))
    agent = await agent_factory(csms.url, version="2.0.1")
    await csms.wait_for("BootNotification")
    got = await csms.call(
        call.GetVariables(get_variable_data=[cv("OCPPCommCtrlr", "HeartbeatInterval")])
    )
    assert got.get_variable_result[0]["attribute_status"] == "Accepted"
    assert got.get_variable_result[0]["attribute_value"] == "300"
    put = await csms.call(
        call.SetVariables(
            set_variable_data=[cv("OCPPCommCtrlr", "HeartbeatInterval", attribute_value="120")]
        )
    )
    assert put.set_variable_result[0]["attribute_status"] == "Accepted"
    base = await csms.call(call.GetBaseReport(request_id=7, report_base="ConfigurationInventory"))
    assert base.status == "Accepted"
    parts = await reports(csms, 7)
    assert (
        reported(parts)[("OCPPCommCtrlr", None, "HeartbeatInterval", None)]["variableAttribute"][0][
            "value"
        ]
        == "120"
    )
    # no remote start before the CSMS accepted the station
    start = await csms.call(
        call.RequestStartTransaction(
            id_token={"id_token": "CARD1", "type": "Central"}, remote_start_id=5, evse_id=1
        )
    )
    assert start.status == "Rejected"
    # a triggered StatusNotification may go out while Pending; nothing else unasked
    trig = await csms.call(call.TriggerMessage(requested_message="StatusNotification"))
    assert trig.status == "Accepted"
    await csms.wait_for("StatusNotification")
    await asyncio.sleep(1.5)  # a boot retry or two, still Pending
    assert {m.action for m in csms.received} == {
        "BootNotification",
        "NotifyReport",
        "StatusNotification",
    }
    assert not agent.client.connected.is_set()
    assert agent.station.view(1).transaction is None
    csms.quirks.boot.clear()  # the next retry is Accepted
    await agent.accepted()
    assert agent.client.settings.get("HeartbeatInterval") == "1"  # the Accepted interval
    await csms.wait_for("StatusNotification", 2)


async def test_rejected_answers_nothing_but_a_boot_trigger(
    agent_factory: AgentFactory, csms201_factory: Any
) -> None:
    csms = await csms201_factory(Quirks(boot=["Rejected"] * 100, boot_interval=30))
    agent = await agent_factory(csms.url, version="2.0.1")
    await csms.wait_for("BootNotification")
    session = agent.client.session
    await until(lambda: session is not None and session.registration == "Rejected")
    await csms.send_raw(
        json.dumps(
            [2, "get-1", "GetVariables", {"getVariableData": [cv("ChargingStation", "Model")]}]
        )
    )
    await csms.send_raw(json.dumps([2, "reset-1", "Reset", {"type": "Immediate"}]))
    assert await csms.raw_answer("get-1", within=1.0) is None
    assert await csms.raw_answer("reset-1", within=0.2) is None
    assert len(csms.calls("BootNotification")) == 1  # the interval (30 s) is respected
    csms.quirks.boot.clear()
    await csms.send_raw(
        json.dumps([2, "trig-1", "TriggerMessage", {"requestedMessage": "BootNotification"}])
    )
    answer = await csms.raw_answer("trig-1")
    assert answer is not None and answer[2] == {"status": "Accepted"}
    boots = await csms.wait_for("BootNotification", 2)
    assert boots[1].payload["reason"] == "Triggered"
    await agent.accepted()
    # accepted now: a BootNotification can no longer be triggered (F06.FR.17)
    again = await csms.call(call.TriggerMessage(requested_message="BootNotification"))
    assert again.status == "Rejected"


# -- GetVariables / SetVariables -----------------------------------------------------------


async def test_get_variables_every_status(csms: Csms201, agent_factory: AgentFactory) -> None:
    await online(csms, agent_factory, connectors=2)
    res = await csms.call(
        call.GetVariables(
            get_variable_data=[
                cv("OCPPCommCtrlr", "HeartbeatInterval"),
                cv("EVSE", "AvailabilityState", evse={"id": 2}),
                cv("OCPPCommCtrlr", "MessageTimeout", instance="Default"),
                cv("NoSuchCtrlr", "Enabled"),
                cv("EVSE", "Power", evse={"id": 9}),
                cv("OCPPCommCtrlr", "NoSuchVariable"),
                cv("OCPPCommCtrlr", "HeartbeatInterval", attribute_type="Target"),
                cv("SecurityCtrlr", "BasicAuthPassword"),
            ]
        )
    )
    r = res.get_variable_result
    assert [e["attribute_status"] for e in r] == [
        "Accepted",
        "Accepted",
        "Accepted",
        "UnknownComponent",
        "UnknownComponent",
        "UnknownVariable",
        "NotSupportedAttributeType",
        "Rejected",
    ]
    assert r[1]["attribute_value"] == "Available" and r[1]["component"]["evse"] == {"id": 2}
    assert r[2]["attribute_value"] == "1"  # call_timeout of the test config
    assert "attribute_value" not in r[7]  # a write-only value is never read back
    for e in r[3:]:
        assert e["attribute_status_info"]["reason_code"]


async def test_set_variables_every_status(csms: Csms201, agent_factory: AgentFactory) -> None:
    agent = await online(csms, agent_factory)
    res = await csms.call(
        call.SetVariables(
            set_variable_data=[
                cv("OCPPCommCtrlr", "HeartbeatInterval", attribute_value="45"),
                cv("OCPPCommCtrlr", "WebSocketPingInterval", attribute_value="30"),
                cv("SecurityCtrlr", "SecurityProfile", attribute_value="0"),
                cv("OCPPCommCtrlr", "OfflineThreshold", attribute_value="banana"),
                cv("OCPPCommCtrlr", "OfflineThreshold", attribute_value="99999999"),
                cv(
                    "SampledDataCtrlr",
                    "TxUpdatedMeasurands",
                    attribute_value="Power.Active.Import, Voltage",
                ),
                cv("SampledDataCtrlr", "TxUpdatedMeasurands", attribute_value="SoC"),
                cv("NoSuchCtrlr", "Enabled", attribute_value="true"),
                cv("AuthCtrlr", "NoSuchVariable", attribute_value="true"),
                cv(
                    "OCPPCommCtrlr",
                    "HeartbeatInterval",
                    attribute_value="10",
                    attribute_type="MaxSet",
                ),
            ]
        )
    )
    r = res.set_variable_result
    assert [e["attribute_status"] for e in r] == [
        "Accepted",
        "RebootRequired",
        "Rejected",
        "Rejected",
        "Rejected",
        "Accepted",
        "Rejected",
        "UnknownComponent",
        "UnknownVariable",
        "NotSupportedAttributeType",
    ]
    assert r[2]["attribute_status_info"]["reason_code"] == "ReadOnly"
    assert r[3]["attribute_status_info"]["reason_code"] == "InvalidValue"
    assert r[4]["attribute_status_info"]["reason_code"] == "InvalidValue"
    settings = agent.client.settings
    # the same stored values 1.6 reads under its key names
    assert settings.get("HeartbeatInterval") == "45"
    assert settings.get("WebSocketPingInterval") == "30"
    assert settings.get("MeterValuesSampledData") == "Power.Active.Import,Voltage"
    assert settings.get("OfflineThreshold") == "300"  # unchanged by the bad values
    got = await csms.call(
        call.GetVariables(get_variable_data=[cv("OCPPCommCtrlr", "HeartbeatInterval")])
    )
    assert got.get_variable_result[0]["attribute_value"] == "45"


async def test_a_value_set_under_201_is_the_value_16_sees(
    tmp_path: Path, csms: Csms201, agent_factory: AgentFactory, csms_factory: Any
) -> None:
    from ocpp.v16 import call as call16

    first = await online(csms, agent_factory, data_dir=tmp_path / "d")
    res = await csms.call(
        call.SetVariables(
            set_variable_data=[
                cv("OCPPCommCtrlr", "HeartbeatInterval", attribute_value="77"),
                cv("AuthCtrlr", "LocalPreAuthorize", attribute_value="false"),
                cv("SampledDataCtrlr", "TxUpdatedInterval", attribute_value="15"),
            ]
        )
    )
    assert {e["attribute_status"] for e in res.set_variable_result} == {"Accepted"}
    await power_off(first)
    csms16 = await csms_factory()
    await agent_factory(csms16.url, data_dir=tmp_path / "d", version="1.6")
    await csms16.wait_for("StatusNotification")
    conf = await csms16.call(
        call16.GetConfiguration(
            key=["HeartbeatInterval", "LocalPreAuthorize", "MeterValueSampleInterval"]
        )
    )
    values = {k["key"]: k["value"] for k in conf.configuration_key}
    # the Accepted boot of the 1.6 CSMS sets its own interval: 60
    assert values == {
        "HeartbeatInterval": "60",
        "LocalPreAuthorize": "false",
        "MeterValueSampleInterval": "15",
    }
    assert conf.unknown_key in (None, [])


# -- reports ---------------------------------------------------------------------------------


async def test_full_inventory_in_parts(csms: Csms201, agent_factory: AgentFactory) -> None:
    await online(csms, agent_factory, connectors=2)
    res = await csms.call(call.GetBaseReport(request_id=11, report_base="FullInventory"))
    assert res.status == "Accepted"
    parts = await reports(csms, 11)
    assert [p["seqNo"] for p in parts] == list(range(len(parts)))
    assert len(parts) >= 3
    assert all(p.get("tbc") for p in parts[:-1]) and not parts[-1].get("tbc", False)
    assert len({p["generatedAt"] for p in parts}) == 1
    found = reported(parts)
    required = [
        ("ChargingStation", None, "AvailabilityState", None),
        ("ChargingStation", None, "SupplyPhases", None),
        ("EVSE", 1, "Power", None),
        ("EVSE", 2, "AvailabilityState", None),
        ("OCPPCommCtrlr", None, "MessageTimeout", "Default"),
        ("OCPPCommCtrlr", None, "MessageAttempts", "TransactionEvent"),
        ("OCPPCommCtrlr", None, "NetworkConfigurationPriority", None),
        ("OCPPCommCtrlr", None, "FileTransferProtocols", None),
        ("SampledDataCtrlr", None, "TxEndedMeasurands", None),
        ("AlignedDataCtrlr", None, "Interval", None),
        ("AuthCtrlr", None, "LocalPreAuthorize", None),
        ("LocalAuthListCtrlr", None, "Entries", None),
        ("TxCtrlr", None, "EVConnectionTimeOut", None),
        ("SmartChargingCtrlr", None, "Entries", "ChargingProfiles"),
        ("SecurityCtrlr", None, "OrganizationName", None),
        ("DeviceDataCtrlr", None, "ItemsPerMessage", "GetReport"),
        ("DeviceDataCtrlr", None, "BytesPerMessage", "SetVariables"),
    ]
    missing = [k for k in required if k not in found]
    assert not missing, missing
    hb = found[("OCPPCommCtrlr", None, "HeartbeatInterval", None)]
    assert hb["variableCharacteristics"] == {
        "dataType": "integer",
        "supportsMonitoring": False,
        "unit": "s",
        "minLimit": 0,
        "maxLimit": 86400,
    }
    assert hb["variableAttribute"][0]["mutability"] == "ReadWrite"
    password = found[("SecurityCtrlr", None, "BasicAuthPassword", None)]["variableAttribute"][0]
    assert password["mutability"] == "WriteOnly" and "value" not in password
    # ConfigurationInventory: only what the CSMS can change
    await csms.call(call.GetBaseReport(request_id=12, report_base="ConfigurationInventory"))
    config = reported(await reports(csms, 12))
    assert config and all(
        d["variableAttribute"][0]["mutability"] != "ReadOnly" for d in config.values()
    )
    # SummaryInventory: availability of the station and of each EVSE and connector
    await csms.call(call.GetBaseReport(request_id=13, report_base="SummaryInventory"))
    summary = reported(await reports(csms, 13))
    assert ("Connector", 2, "AvailabilityState", None) in summary
    assert {k[2] for k in summary} <= {"Available", "AvailabilityState"}


async def test_get_report_filters(csms: Csms201, agent_factory: AgentFactory) -> None:
    await online(csms, agent_factory, connectors=2)
    res = await csms.call(
        call.GetReport(
            request_id=21,
            component_variable=[
                {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
                {"component": {"name": "EVSE", "evse": {"id": 2}}},
            ],
        )
    )
    assert res.status == "Accepted"
    found = reported(await reports(csms, 21))
    assert ("OCPPCommCtrlr", None, "HeartbeatInterval", None) in found
    evse_vars = {k for k in found if k[0] == "EVSE"}
    assert evse_vars and all(k[1] == 2 for k in evse_vars)
    assert len(found) == 1 + len(evse_vars)
    conn = await csms.call(
        call.GetReport(
            request_id=25,
            component_variable=[
                {"component": {"name": "Connector", "evse": {"id": 2, "connector_id": 1}}}
            ],
        )
    )
    assert conn.status == "Accepted"
    connectors = reported(await reports(csms, 25))
    assert ("Connector", 2, "ConnectorType", None) in connectors
    assert {(k[0], k[1]) for k in connectors} == {("Connector", 2)}
    # more entries than DeviceDataCtrlr.ItemsPerMessage[GetReport] (50): a CallError
    many = [{"component": {"name": "EVSE", "evse": {"id": 1}}}] * 51
    frame = [2, "report-51", "GetReport", {"requestId": 26, "componentVariable": many}]
    await csms.send_raw(json.dumps(frame))
    answer = await csms.raw_answer("report-51")
    assert answer is not None and answer[0] == 4 and answer[2] == "OccurrenceConstraintViolation"
    # no component has a problem: nothing to report
    problem = await csms.call(call.GetReport(request_id=22, component_criteria=["Problem"]))
    assert problem.status == "EmptyResultSet"
    unknown = await csms.call(
        call.GetReport(request_id=23, component_variable=[{"component": {"name": "Nope"}}])
    )
    assert unknown.status == "EmptyResultSet"
    assert not [m for m in csms.calls("NotifyReport") if m.payload["requestId"] in (22, 23)]
    enabled = await csms.call(
        call.GetReport(
            request_id=24,
            component_criteria=["Enabled"],
            component_variable=[{"component": {"name": "AuthCacheCtrlr"}}],
        )
    )
    assert enabled.status == "Accepted"
    assert {k[0] for k in reported(await reports(csms, 24))} == {"AuthCacheCtrlr"}


# -- Reset ------------------------------------------------------------------------------------


async def test_reset_on_idle_during_a_transaction(
    tmp_path: Path, csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory, data_dir=tmp_path / "d")
    resets: list[str] = []
    agent.client.on_reset = resets.append  # what the daemon does: restart the process
    await agent.start_charging(1, "CARD1")
    await csms.wait_for("TransactionEvent")
    res = await csms.call(call.Reset(type="OnIdle"))
    assert res.status == "Scheduled"
    await asyncio.sleep(1.5)
    assert resets == [] and agent.station.view(1).transaction is not None
    await agent.unplug(1)  # the driver leaves: the transaction ends, then the reset
    ended = await csms.wait_for(
        "TransactionEvent", pred=lambda m: m.payload["eventType"] == "Ended"
    )
    assert ended[0].payload["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    await until(lambda: resets == ["OnIdle"], 5, "reset after the transaction")
    await power_off(agent)
    boots = len(csms.calls("BootNotification"))
    await online(csms, agent_factory, data_dir=tmp_path / "d")
    assert csms.calls("BootNotification")[boots].payload["reason"] == "ScheduledReset"


async def test_reset_immediate_ends_the_transaction(
    tmp_path: Path, csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory, data_dir=tmp_path / "d")
    resets: list[str] = []
    agent.client.on_reset = resets.append
    await agent.start_charging(1, "CARD1")
    res = await csms.call(call.Reset(type="Immediate"))
    assert res.status == "Accepted"
    ended = await csms.wait_for(
        "TransactionEvent", pred=lambda m: m.payload["eventType"] == "Ended"
    )
    assert ended[0].payload["transactionInfo"]["stoppedReason"] == "ImmediateReset"
    assert ended[0].payload["triggerReason"] == "ResetCommand"
    await until(lambda: resets == ["Immediate"], 5, "restart requested")
    await power_off(agent)
    boots = len(csms.calls("BootNotification"))
    await online(csms, agent_factory, data_dir=tmp_path / "d")
    assert csms.calls("BootNotification")[boots].payload["reason"] == "RemoteReset"


async def test_reset_of_one_evse(csms: Csms201, agent_factory: AgentFactory) -> None:
    agent = await online(csms, agent_factory, connectors=2)
    resets: list[str] = []
    agent.client.on_reset = resets.append
    await agent.start_charging(1, "CARD1")
    await agent.start_charging(2, "CARD2")
    assert (await csms.call(call.Reset(type="OnIdle", evse_id=2))).status == "Scheduled"
    assert (await csms.call(call.Reset(type="Immediate", evse_id=7))).status == "Rejected"
    assert (await csms.call(call.Reset(type="Immediate", evse_id=1))).status == "Accepted"
    ended = await csms.wait_for(
        "TransactionEvent", pred=lambda m: m.payload["eventType"] == "Ended"
    )
    started = {
        m.payload["evse"]["id"]: m.payload["transactionInfo"]["transactionId"]
        for m in csms.calls("TransactionEvent")
        if m.payload["eventType"] == "Started"
    }
    assert ended[0].payload["transactionInfo"]["transactionId"] == started[1]
    assert ended[0].payload["transactionInfo"]["stoppedReason"] == "ImmediateReset"
    await asyncio.sleep(1.2)
    # the EVSE reset: its transaction ended, the other runs on, the station did not restart
    assert agent.station.view(1).transaction is None
    assert agent.station.view(2).transaction is not None
    assert resets == []
    assert agent.client.connected.is_set()
