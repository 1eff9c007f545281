"""A full session against each of the four reference central systems' quirks."""

from __future__ import annotations

import time
from collections import Counter

from ocpp.v16 import call

from tests.ocpp.conftest import Agent, AgentFactory, until
from tests.ocpp.csms import Csms
from tests.ocpp.interop import cloud_gateway, go_csms, ocpp_core, smart_charging_csms

KEY = "core-secret-0123456789"


async def full_session(agent: Agent, csms: Csms, card: str = "CARD1") -> None:
    """Card, plug, charge, meter values, unplug: every transaction message delivered once."""
    await agent.accepted()
    before = len(csms.calls("StopTransaction"))
    assert await agent.station.present_card(card) == "Accepted"
    await agent.plug(1)
    tx = await agent.transaction(1)
    t0 = time.time()
    for i in range(2):
        agent.sample(1, 1000.0 + 250.4 * i, ts=t0 + 61 * (i + 1))
    await agent.unplug(1)
    await csms.wait_for("StopTransaction", before + 1)
    tx_msgs = [m for m in csms.received if m.action in ("StartTransaction", "StopTransaction")]
    assert all(n == 1 for n in Counter(m.unique_id for m in tx_msgs).values())
    for m in csms.calls("MeterValues"):
        for mv in m.payload["meterValue"]:
            for sv in mv["sampledValue"]:
                if sv.get("measurand", "Energy.Active.Import.Register").startswith("Energy"):
                    assert sv["value"].isdigit()  # integer Wh
    await until(lambda: agent.station.view(1).transaction is None, 5, "stopped")
    assert tx > 0


async def test_go_csms(csms_factory, agent_factory: AgentFactory) -> None:
    csms = await csms_factory(go_csms())
    agent = await agent_factory(csms.url, version="auto", auto_order="1.6,2.0.1")  # its 1.6 side
    await full_session(agent, csms)
    assert csms.paths[0] == "/ws/CP1"
    assert agent.client.settings.get("MeterValuesSampledData").endswith("Power.Active.Import")
    # its transaction ids restart at 1 after a restart of the CSMS: harmless
    csms.quirks.restart_tx_ids()  # type: ignore[attr-defined]
    await full_session(agent, csms, "CARD2")
    starts = [m for m in csms.received if m.action == "StartTransaction"]
    assert len(starts) == 2


async def test_go_csms_rejects_unknown_charge_point(
    csms_factory, agent_factory: AgentFactory
) -> None:
    q = go_csms()
    q.known_ids = {"OTHER"}
    csms = await csms_factory(q)
    agent = await agent_factory(csms.url)
    await csms.wait_for("BootNotification")
    assert not agent.client.connected.is_set()


async def test_ocpp_core(csms_factory, agent_factory: AgentFactory) -> None:
    csms = await csms_factory(ocpp_core(KEY))
    agent = await agent_factory(
        csms.url, version="auto", auto_order="1.6,2.0.1", security_profile=1, authorization_key=KEY
    )
    await full_session(agent, csms)
    assert csms.paths[0] == "/OCPP/CP1"


async def test_ocpp_core_unknown_charge_point_gets_412(
    csms_factory, agent_factory: AgentFactory
) -> None:
    q = ocpp_core(KEY)
    q.known_ids = {"OTHER"}
    csms = await csms_factory(q)
    agent = await agent_factory(csms.url, security_profile=1, authorization_key=KEY)
    await until(lambda: csms.handshakes >= 2, 10, "retried")
    assert csms.connections == 0 and not agent.client.connected.is_set()


async def test_cloud_gateway(csms_factory, agent_factory: AgentFactory) -> None:
    csms = await csms_factory(cloud_gateway())
    agent = await agent_factory(csms.url, version="1.6")
    await full_session(agent, csms)
    assert csms.paths[0] == "/CP1"
    # its 2.0.1 RequestStartTransaction got a CallError, not a crash; the session lives on
    res = await csms.call(call.GetConfiguration(key=["HeartbeatInterval"]))
    assert res.configuration_key[0]["value"] == "10"


async def test_smart_charging_csms(csms_factory, agent_factory: AgentFactory) -> None:
    csms = await csms_factory(smart_charging_csms())
    agent = await agent_factory(csms.url, settings={"ClockAlignedDataInterval": "1"})
    await full_session(agent, csms)
    await full_session(agent, csms, "CARD2")  # the same transaction id 1234 again
    stops = csms.calls("StopTransaction")
    assert [m.payload["transactionId"] for m in stops] == [1234, 1234]
    # its W profiles in amps: the Daily TxDefaultProfile 11040 W / (230 V * 3) = 16 A
    limit = agent.station.limits.sources(1).get("csms")
    assert limit is not None and abs(limit - 16.0) < 0.3


async def test_go_csms_not_answering_security_events_does_not_hold_up_transactions(
    csms_factory, agent_factory: AgentFactory
) -> None:
    csms = await csms_factory(go_csms())
    agent = await agent_factory(csms.url, call_timeout=2.0)
    for n in range(3):
        await agent.client.security.event("SettingSystemTime", f"offline event {n}")
    await agent.accepted()
    await full_session(agent, csms)  # the StopTransaction got through meanwhile
    # offered at most MAX_ATTEMPTS times, then only kept in the log
    entries = await agent.client.security.entries()
    assert len(entries) >= 4


async def test_authorize_preempts_a_security_event_the_csms_never_answers(
    csms_factory, agent_factory: AgentFactory
) -> None:
    csms = await csms_factory(go_csms())
    # a long call timeout: without preemption the card would wait behind the event
    agent = await agent_factory(csms.url, call_timeout=30.0)
    await agent.client.security.event("SettingSystemTime", "recorded offline")
    await agent.accepted()
    await csms.wait_for("SecurityEventNotification")  # now in flight, never answered
    started = time.monotonic()
    assert await agent.station.present_card("CARD1") == "Accepted"
    assert time.monotonic() - started < 10  # well under the event's own timeout
    assert csms.calls("Authorize")
