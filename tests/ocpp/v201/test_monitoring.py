"""N Monitoring under OCPP 2.0.1 against a real v201 CSMS: a fault injected into the
simulator gives a NotifyEvent and its clearing another; the CSMS's monitors are set,
honoured (and held to the monitoring level), reported, cleared and kept across restarts."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from ocpp.v201 import call

from simulator.plant import FaultKind
from tests.ocpp.conftest import Agent, AgentFactory, until
from tests.ocpp.csms201 import Csms201
from tests.ocpp.v201.stories import online, power_off

RCD = {"name": "RCD", "evse": {"id": 1}}
TRIPPED = {"name": "Tripped"}


def notified(csms: Csms201) -> list[dict[str, Any]]:
    return [e for m in csms.calls("NotifyEvent") for e in m.payload["eventData"]]


async def events_for(csms: Csms201, count: int) -> list[dict[str, Any]]:
    await until(lambda: len(notified(csms)) >= count, 10, f"{count} events")
    return notified(csms)


async def fault(agent: Agent, kind: FaultKind, active: bool) -> None:
    agent.plant.set_fault(kind, active, 1)
    if active:
        await agent.status(1, "Faulted")
    else:
        await until(lambda: agent.station.view(1).status != "Faulted", 10, "fault cleared")


def delta_monitor(severity: int, **kw: Any) -> dict[str, Any]:
    return {
        "value": 1,
        "type": "Delta",
        "severity": severity,
        "component": RCD,
        "variable": TRIPPED,
        **kw,
    }


async def test_an_injected_fault_and_its_clearing_give_notify_events(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    await fault(agent, FaultKind.RCD, True)
    raised = (await events_for(csms, 1))[0]
    assert raised["component"] == RCD and raised["variable"] == TRIPPED
    assert raised["actualValue"] == "true" and raised["trigger"] == "Alerting"
    assert raised["eventNotificationType"] == "HardWiredMonitor"
    assert raised["techCode"] == "GroundFailure" and "cleared" not in raised
    # the device model says the same
    got = await csms.call(
        call.GetVariables(get_variable_data=[{"component": RCD, "variable": TRIPPED}])
    )
    assert got.get_variable_result[0]["attribute_value"] == "true"
    await fault(agent, FaultKind.RCD, False)
    cleared = (await events_for(csms, 2))[1]
    assert cleared["actualValue"] == "false" and cleared["cleared"] is True
    assert cleared["eventId"] > raised["eventId"]
    # another fault, another component: the connector's lock (found when it must lock)
    agent.plant.set_fault(FaultKind.LOCK_FAILURE, True, 1)
    await agent.plug(1)
    await agent.station.remote_start("CARD1", 1)
    await agent.status(1, "Faulted")
    lock = (await events_for(csms, 3))[2]
    tx = agent.station.view(1).transaction
    if tx is not None:  # the fault came during the transaction: the event names it
        assert lock["transactionId"].endswith(f"-{tx.id}")
    assert lock["component"] == {
        "name": "ConnectorPlugRetentionLock",
        "evse": {"id": 1, "connectorId": 1},
    }
    assert lock["techCode"] == "ConnectorLockFailure"


async def test_a_custom_monitor_is_honoured_and_held_to_the_level(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    res = await csms.call(call.SetVariableMonitoring(set_monitoring_data=[delta_monitor(4)]))
    result = res.set_monitoring_result[0]
    assert result["status"] == "Accepted"
    mid = result["id"]
    await fault(agent, FaultKind.RCD, True)
    events = await events_for(csms, 2)
    custom = [e for e in events if e["eventNotificationType"] == "CustomMonitor"]
    assert len(custom) == 1 and custom[0]["variableMonitoringId"] == mid
    assert custom[0]["trigger"] == "Delta" and custom[0]["actualValue"] == "true"
    # level 3: the severity-4 monitor is quiet, the hard-wired one (0) still reports
    assert (await csms.call(call.SetMonitoringLevel(severity=3))).status == "Accepted"
    await fault(agent, FaultKind.RCD, False)
    await events_for(csms, 3)
    await asyncio.sleep(0.3)  # time for an event that must not come
    later = notified(csms)[2:]
    assert [e["eventNotificationType"] for e in later] == ["HardWiredMonitor"]
    # level 0 keeps only Danger: RCD's hard-wired monitor is severity 0
    await csms.call(call.SetMonitoringLevel(severity=0))
    await fault(agent, FaultKind.METER_TIMEOUT, True)
    await fault(agent, FaultKind.RCD, True)
    events = await events_for(csms, 4)
    assert {e["component"]["name"] for e in events[3:]} == {"RCD"}


async def test_set_variable_monitoring_statuses(csms: Csms201, agent_factory: AgentFactory) -> None:
    agent = await online(csms, agent_factory)
    data = [
        delta_monitor(5),
        delta_monitor(5),  # the same again: Duplicate
        {**delta_monitor(5), "type": "UpperThreshold"},
        {**delta_monitor(5), "component": {"name": "Nope", "evse": {"id": 1}}},
        {**delta_monitor(5), "variable": {"name": "Nope"}},
        {**delta_monitor(5), "component": {"name": "OCPPCommCtrlr"},
         "variable": {"name": "HeartbeatInterval"}},
        {**delta_monitor(6), "type": "Periodic", "value": 0},
        {**delta_monitor(6), "id": 99999},
    ]  # fmt: skip
    res = await csms.call(call.SetVariableMonitoring(set_monitoring_data=data))
    assert [r["status"] for r in res.set_monitoring_result] == [
        "Accepted", "Duplicate", "UnsupportedMonitorType", "UnknownComponent",
        "UnknownVariable", "Rejected", "Rejected", "Rejected",
    ]  # fmt: skip
    base = await csms.call(
        call.GetVariables(
            get_variable_data=[
                {"component": {"name": "MonitoringCtrlr"}, "variable": {"name": "Enabled"}}
            ]
        )
    )
    assert base.get_variable_result[0]["attribute_value"] == "true"
    queuing = {"name": "MonitoringCtrlr"}, {"name": "OfflineQueuingSeverity"}
    res = await csms.call(
        call.SetVariables(
            set_variable_data=[
                {"component": queuing[0], "variable": queuing[1], "attribute_value": v}
                for v in ("3", "10")
            ]
        )
    )
    assert [r["attribute_status"] for r in res.set_variable_result] == ["Accepted", "Rejected"]
    assert agent.client.settings.get("OfflineQueuingSeverity") == "3"


async def test_monitors_reported_cleared_and_kept_across_a_restart(
    tmp_path: Path, csms: Csms201, agent_factory: AgentFactory
) -> None:
    data_dir = tmp_path / "d"
    agent = await online(csms, agent_factory, data_dir=data_dir)
    res = await csms.call(
        call.SetVariableMonitoring(
            set_monitoring_data=[delta_monitor(4), {**delta_monitor(7), "type": "Periodic"}]
        )
    )
    delta_id, periodic_id = (r["id"] for r in res.set_monitoring_result)
    await csms.call(call.SetMonitoringLevel(severity=5))
    await agent.client.stop()
    await agent.station.stop()
    await agent.station.store.close()
    again = await online(csms, agent_factory, data_dir=data_dir)
    assert again.client.ctx.monitoring is not None
    assert again.client.ctx.monitoring.level == 5
    report = await csms.call(
        call.GetMonitoringReport(request_id=8, monitoring_criteria=["DeltaMonitoring"])
    )
    assert report.status == "Accepted"
    parts = await csms.wait_for("NotifyMonitoringReport")
    assert parts[0].payload["requestId"] == 8
    ids = {
        m["id"]
        for part in csms.calls("NotifyMonitoringReport")
        for entry in part.payload["monitor"]
        for m in entry["variableMonitoring"]
    }
    assert delta_id in ids and periodic_id not in ids  # only Delta asked for
    assert len(ids) > 1  # the hard-wired ones too
    # by component and variable: only those of RCD.Tripped on EVSE 1
    before = len(csms.calls("NotifyMonitoringReport"))
    one = await csms.call(
        call.GetMonitoringReport(
            request_id=10, component_variable=[{"component": RCD, "variable": TRIPPED}]
        )
    )
    assert one.status == "Accepted"
    part = (await csms.wait_for("NotifyMonitoringReport", before + 1))[-1].payload
    assert [e["component"]["name"] for e in part["monitor"]] == ["RCD"]
    listed = {m["id"] for m in part["monitor"][0]["variableMonitoring"]}
    assert {delta_id, periodic_id} < listed
    cleared = await csms.call(call.ClearVariableMonitoring(id=[delta_id, 1, 424242]))
    assert [r["status"] for r in cleared.clear_monitoring_result] == [
        "Accepted", "Rejected", "NotFound",
    ]  # fmt: skip
    # HardWiredOnly removes the CSMS's monitors: nothing custom left to report
    await csms.call(call.SetMonitoringBase(monitoring_base="HardWiredOnly"))
    empty = await csms.call(
        call.GetMonitoringReport(request_id=9, monitoring_criteria=["PeriodicMonitoring"])
    )
    assert empty.status == "EmptyResultSet"


async def test_a_periodic_monitor_reports_the_value(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    await online(csms, agent_factory)
    res = await csms.call(
        call.SetVariableMonitoring(
            set_monitoring_data=[{**delta_monitor(6), "type": "Periodic", "value": 1}]
        )
    )
    mid = res.set_monitoring_result[0]["id"]
    events = await events_for(csms, 2)
    assert all(e["trigger"] == "Periodic" and e["variableMonitoringId"] == mid for e in events)
    assert events[0]["actualValue"] == "false"


async def test_events_made_offline_go_out_after_the_boot(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    # only Danger (severity 0: RCD) waits in the queue; the meter's (1) is dropped
    agent = await online(csms, agent_factory)
    settings = agent.client.settings
    assert await settings.change("OfflineQueuingSeverity", "0", version="2.0.1") == "Accepted"
    await csms.stop()
    await until(lambda: not agent.client.connected.is_set(), 10, "offline")
    await fault(agent, FaultKind.METER_TIMEOUT, True)
    await fault(agent, FaultKind.METER_TIMEOUT, False)
    await fault(agent, FaultKind.RCD, True)
    await fault(agent, FaultKind.RCD, False)
    assert notified(csms) == []
    await csms.start(csms.port)
    await agent.accepted()
    events = await events_for(csms, 2)
    await asyncio.sleep(0.3)  # time for events that must not come
    events = notified(csms)
    assert [(e["component"]["name"], e["actualValue"]) for e in events] == [
        ("RCD", "true"), ("RCD", "false"),
    ]  # fmt: skip
    boot = max(i for i, m in enumerate(csms.received) if m.action == "BootNotification")
    first = next(i for i, m in enumerate(csms.received) if m.action == "NotifyEvent")
    assert first > boot


async def test_events_made_offline_survive_a_restart(
    tmp_path: Path, csms: Csms201, agent_factory: AgentFactory
) -> None:
    """The offline queue is on disk: an RCD trip while the CSMS was away, then a restart
    (a power cut) before it comes back: the events still go out after the next boot."""
    agent = await online(csms, agent_factory, data_dir=tmp_path / "d")
    await csms.stop()
    await until(lambda: not agent.client.connected.is_set(), 10, "offline")
    await fault(agent, FaultKind.RCD, True)
    await until(lambda: len(agent.client.ctx.monitoring.offline) >= 1, 10, "queued")
    await power_off(agent)
    await csms.start(csms.port)
    again = await online(csms, agent_factory, data_dir=tmp_path / "d")
    events = await events_for(csms, 1)
    assert events[0]["component"]["name"] == "RCD" and events[0]["actualValue"] == "true"
    await until(lambda: not again.client.ctx.monitoring.offline, 10, "sent, not kept")


async def test_a_transaction_monitor_watches_only_during_a_transaction(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    res = await csms.call(
        call.SetVariableMonitoring(set_monitoring_data=[delta_monitor(4, transaction=True)])
    )
    mid = res.set_monitoring_result[0]["id"]
    await fault(agent, FaultKind.RCD, True)
    await fault(agent, FaultKind.RCD, False)
    await events_for(csms, 2)
    await asyncio.sleep(0.3)
    assert all(e.get("variableMonitoringId") != mid for e in notified(csms))
    await agent.start_charging(1, "CARD1")
    await agent.status(1, "Charging")
    await fault(agent, FaultKind.RCD, True)
    await until(
        lambda: any(e.get("variableMonitoringId") == mid for e in notified(csms)), 10, "custom"
    )
    custom = next(e for e in notified(csms) if e.get("variableMonitoringId") == mid)
    assert custom["transactionId"].startswith(agent.client.ctx.instance_id)
