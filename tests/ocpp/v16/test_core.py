"""Core profile against a real CSMS over a real websocket."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ocpp.v16 import call

from tests.ocpp.conftest import STOP_ALIGNED_ONLY, Agent, AgentFactory, until
from tests.ocpp.csms import Csms, Quirks


async def test_boot_accepted_sends_status_of_every_connector(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await agent_factory(csms.url, connectors=2)
    await agent.accepted()
    boots = await csms.wait_for("BootNotification")
    assert boots[0].payload["chargePointModel"] == "NCPA"
    status = await csms.wait_for("StatusNotification", 3)
    assert sorted(m.payload["connectorId"] for m in status) == [0, 1, 2]
    assert csms.paths == ["/ocpp/CP1"]
    assert agent.client.settings.get("HeartbeatInterval") == "60"


async def test_boot_pending_then_accepted(csms_factory, agent_factory: AgentFactory) -> None:
    csms = await csms_factory(Quirks(boot=["Pending", "Rejected"], boot_interval=1))
    agent = await agent_factory(csms.url)
    await agent.accepted()
    await csms.wait_for("StatusNotification")
    boots = csms.calls("BootNotification")
    assert len(boots) == 3
    # nothing but Boot before the CSMS accepted
    first_other = next(i for i, m in enumerate(csms.received) if m.action != "BootNotification")
    assert first_other == 3


async def test_csms_may_configure_while_pending(csms_factory, agent_factory: AgentFactory) -> None:
    csms = await csms_factory(Quirks(boot=["Pending"], boot_interval=2))
    agent = await agent_factory(csms.url)
    await csms.wait_for("BootNotification")
    res = await csms.call(call.ChangeConfiguration(key="MeterValueSampleInterval", value="30"))
    assert res.status == "Accepted"
    await agent.accepted()
    assert agent.client.settings.get("MeterValueSampleInterval") == "30"


async def test_triggered_boot_while_pending(csms_factory, agent_factory: AgentFactory) -> None:
    csms = await csms_factory(Quirks(boot=["Pending"], boot_interval=300))
    agent = await agent_factory(csms.url)
    await csms.wait_for("BootNotification")
    res = await csms.call(call.TriggerMessage(requested_message="BootNotification"))
    assert res.status == "Accepted"
    await agent.accepted(within=5)  # not after the 300 s Pending interval


async def test_heartbeat_follows_interval(csms_factory, agent_factory: AgentFactory) -> None:
    csms = await csms_factory(Quirks(boot_interval=1))
    await agent_factory(csms.url)
    await csms.wait_for("Heartbeat", 2, within=5)


async def test_get_and_change_configuration(csms: Csms, agent_factory: AgentFactory) -> None:
    agent = await agent_factory(csms.url)
    await agent.accepted()
    res = await csms.call(
        call.GetConfiguration(key=["HeartbeatInterval", "Nope", "AuthorizationKey"])
    )
    assert res.configuration_key == [{"key": "HeartbeatInterval", "readonly": False, "value": "60"}]
    assert sorted(res.unknown_key) == ["AuthorizationKey", "Nope"]
    everything = await csms.call(call.GetConfiguration())
    keys = {k["key"] for k in everything.configuration_key}
    assert {"NumberOfConnectors", "SupportedFeatureProfiles", "MeterValuesSampledData"} <= keys
    assert (
        await csms.call(call.ChangeConfiguration(key="NumberOfConnectors", value="3"))
    ).status == "Rejected"
    assert (
        await csms.call(call.ChangeConfiguration(key="HeartbeatInterval", value="x"))
    ).status == "Rejected"
    assert (
        await csms.call(call.ChangeConfiguration(key="Bogus", value="1"))
    ).status == "NotSupported"
    assert (
        await csms.call(call.ChangeConfiguration(key="WebSocketPingInterval", value="30"))
    ).status == "RebootRequired"
    ok = await csms.call(
        call.ChangeConfiguration(
            key="MeterValuesSampledData", value="Energy.Active.Import.Register,Power.Active.Import"
        )
    )
    assert ok.status == "Accepted"
    bad = await csms.call(call.ChangeConfiguration(key="MeterValuesSampledData", value="SoC.Bogus"))
    assert bad.status == "Rejected"
    # persisted: a new settings object over the same store sees the change
    from ncpa.ocpp.settings import OcppSettings

    fresh = OcppSettings(agent.station.store)
    await fresh.load()
    assert fresh.get_csl("MeterValuesSampledData") == [
        "Energy.Active.Import.Register",
        "Power.Active.Import",
    ]


async def test_remote_start_after_plug_in_then_remote_stop(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await agent_factory(csms.url)
    await agent.accepted()
    await agent.plug(1)
    res = await csms.call(call.RemoteStartTransaction(id_tag="TAG1", connector_id=1))
    assert res.status == "Accepted"
    await csms.wait_for("Authorize")  # AuthorizeRemoteTxRequests defaults to true
    start = (await csms.wait_for("StartTransaction"))[0]
    assert start.payload["idTag"] == "TAG1" and start.payload["connectorId"] == 1
    await asyncio.sleep(0.1)
    stop_res = await csms.call(call.RemoteStopTransaction(transaction_id=1001))
    assert stop_res.status == "Accepted"
    stop = (await csms.wait_for("StopTransaction"))[0]
    assert stop.payload["transactionId"] == 1001 and stop.payload["reason"] == "Remote"
    unknown = await csms.call(call.RemoteStopTransaction(transaction_id=999))
    assert unknown.status == "Rejected"


async def test_remote_start_before_plug_in(csms: Csms, agent_factory: AgentFactory) -> None:
    agent = await agent_factory(csms.url, settings={"AuthorizeRemoteTxRequests": "false"})
    await agent.accepted()
    res = await csms.call(call.RemoteStartTransaction(id_tag="TAG2"))
    assert res.status == "Accepted"
    assert not csms.calls("StartTransaction")
    await agent.plug(1)
    start = (await csms.wait_for("StartTransaction"))[0]
    assert start.payload["idTag"] == "TAG2"
    assert not csms.calls("Authorize")


async def test_remote_start_rejected_on_busy_connector(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await agent_factory(csms.url)
    await agent.accepted()
    await agent.plug(1)
    await agent.station.remote_start("X", 1)
    res = await csms.call(call.RemoteStartTransaction(id_tag="TAG1", connector_id=1))
    assert res.status == "Rejected"
    res = await csms.call(call.RemoteStartTransaction(id_tag="TAG1", connector_id=7))
    assert res.status == "Rejected"


async def test_change_availability_persisted(csms: Csms, agent_factory: AgentFactory) -> None:
    agent = await agent_factory(csms.url)
    await agent.accepted()
    res = await csms.call(call.ChangeAvailability(connector_id=1, type="Inoperative"))
    assert res.status == "Accepted"
    await csms.wait_for("StatusNotification", pred=lambda m: m.payload["status"] == "Unavailable")
    assert await agent.station.store.get_setting("connector.1.operative") is False
    bad = await csms.call(call.ChangeAvailability(connector_id=5, type="Inoperative"))
    assert bad.status == "Rejected"


async def charging(csms: Csms, agent_factory: AgentFactory) -> Agent:
    """An accepted agent with a transaction running on connector 1."""
    agent = await agent_factory(csms.url)
    await agent.accepted()
    await agent.plug(1)
    await agent.station.remote_start("T", 1)
    await csms.wait_for("StartTransaction")
    return agent


async def test_unlock_connector_stops_its_transaction(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    await charging(csms, agent_factory)
    res = await csms.call(call.UnlockConnector(connector_id=1))
    assert res.status == "Unlocked"
    stop = (await csms.wait_for("StopTransaction"))[0]
    assert stop.payload["reason"] == "UnlockCommand"
    assert (await csms.call(call.UnlockConnector(connector_id=3))).status == "NotSupported"


async def test_reset_stops_sessions_with_reason_and_boots_again(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    await charging(csms, agent_factory)
    res = await csms.call(call.Reset(type="Hard"))
    assert res.status == "Accepted"
    stop = (await csms.wait_for("StopTransaction"))[0]
    assert stop.payload["reason"] == "HardReset"
    await csms.wait_for("BootNotification", 2)


async def test_data_transfer_and_clear_cache(csms: Csms, agent_factory: AgentFactory) -> None:
    agent = await agent_factory(csms.url)
    await agent.accepted()
    res = await csms.call(call.DataTransfer(vendor_id="acme", message_id="x", data="y"))
    assert res.status == "UnknownVendorId"
    await agent.client.cache.put("A", {"status": "Accepted"})
    assert (await csms.call(call.ClearCache())).status == "Accepted"
    assert await agent.client.cache.get("A") is None


async def test_meter_values_sampled_with_configured_measurands(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await agent_factory(
        csms.url,
        settings={
            "MeterValueSampleInterval": "1",
            "MeterValuesSampledData": "Energy.Active.Import.Register,Current.Import,Voltage",
        },
    )
    await agent.accepted()
    st = agent.station
    await agent.plug(1)
    await st.remote_start("T", 1)
    await csms.wait_for("StartTransaction")
    import time

    t0 = time.time()
    for i in range(4):
        agent.sample(1, 1000 + 100 * i, ts=t0 + 0.6 * (i + 1))
    mv = await csms.wait_for("MeterValues", 2)
    assert all(m.payload["transactionId"] == 1001 for m in mv)
    values = mv[0].payload["meterValue"][0]["sampledValue"]
    measurands = [(v["measurand"], v.get("phase")) for v in values]
    assert ("Energy.Active.Import.Register", None) in measurands
    assert ("Current.Import", "L3") in measurands and ("Voltage", "L1-N") in measurands
    energy = next(v for v in values if v["measurand"] == "Energy.Active.Import.Register")
    assert energy["value"].isdigit() and energy["context"] == "Sample.Periodic"


async def test_clock_aligned_meter_values(csms: Csms, agent_factory: AgentFactory) -> None:
    agent = await agent_factory(csms.url, settings={"ClockAlignedDataInterval": "1"})
    await agent.accepted()
    mv = await csms.wait_for("MeterValues", within=5)
    assert mv[0].payload["meterValue"][0]["sampledValue"][0]["context"] == "Sample.Clock"
    assert "transactionId" not in mv[0].payload


async def test_trigger_message(csms: Csms, agent_factory: AgentFactory) -> None:
    agent = await agent_factory(csms.url)
    await agent.accepted()
    for message in ("Heartbeat", "StatusNotification", "MeterValues", "BootNotification"):
        before = len(csms.calls(message))
        res = await csms.call(call.TriggerMessage(requested_message=message, connector_id=1))
        assert res.status == "Accepted"
        await csms.wait_for(message, before + 1)
    bad = await csms.call(
        call.TriggerMessage(requested_message="StatusNotification", connector_id=9)
    )
    assert bad.status == "Rejected"


async def test_minimum_status_duration_hides_short_statuses(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await agent_factory(csms.url, settings={"MinimumStatusDuration": "1"})
    await agent.accepted()
    await csms.wait_for("StatusNotification", 2)
    before = len(csms.calls("StatusNotification"))
    await agent.plug(1)  # Preparing ...
    await agent.unplug(1)  # ... Available again within a second
    await asyncio.sleep(1.5)
    sent = [m.payload["status"] for m in csms.calls("StatusNotification")[before:]]
    assert "Preparing" not in sent


async def test_stop_transaction_carries_clock_aligned_data(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await agent_factory(csms.url, settings=STOP_ALIGNED_ONLY)
    await agent.accepted()
    await agent.start_charging(1, "T")
    await asyncio.sleep(2.2)
    await agent.unplug(1)
    stop = (await csms.wait_for("StopTransaction"))[0]
    data = stop.payload["transactionData"]
    assert len(data) >= 1
    assert data[0]["sampledValue"][0]["context"] == "Sample.Clock"
    assert not [m for m in csms.calls("MeterValues") if "transactionId" in m.payload]


async def test_soft_reset_calls_the_restart_hook(csms: Csms, agent_factory: AgentFactory) -> None:
    agent = await charging(csms, agent_factory)
    resets: list[str] = []
    agent.client.on_reset = resets.append
    assert (await csms.call(call.Reset(type="Soft"))).status == "Accepted"
    stop = (await csms.wait_for("StopTransaction"))[0]
    assert stop.payload["reason"] == "SoftReset"
    await until(lambda: resets == ["Soft"], 5, "restart requested")


async def test_change_availability_survives_a_restart(
    tmp_path: Path, csms: Csms, agent_factory: AgentFactory
) -> None:
    first = await agent_factory(csms.url, data_dir=tmp_path / "d")
    await first.accepted()
    await csms.call(call.ChangeAvailability(connector_id=1, type="Inoperative"))
    await first.client.stop()
    await first.station.stop()
    await first.station.store.close()
    before = len(csms.calls("StatusNotification"))
    second = await agent_factory(csms.url, data_dir=tmp_path / "d")
    await second.accepted()
    sent = await csms.wait_for("StatusNotification", before + 2, pred=lambda m: True)
    after_restart = [m.payload for m in sent[before:] if m.payload["connectorId"] == 1]
    assert after_restart[0]["status"] == "Unavailable"
