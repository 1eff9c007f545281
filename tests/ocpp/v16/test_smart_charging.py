"""SmartCharging through OCPP: profiles become the "csms" limit source (engine permitting)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from ocpp.v16 import call

from tests.ocpp.conftest import Agent, AgentFactory, until
from tests.ocpp.csms import Csms


def profile(
    pid: int,
    purpose: str,
    limit: float,
    unit: str = "A",
    stack: int = 0,
    kind: str = "Absolute",
    **extra: Any,
) -> dict[str, Any]:
    schedule: dict[str, Any] = {
        "chargingRateUnit": unit,
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
    }
    if kind == "Recurring":
        schedule["startSchedule"] = "2024-01-01T00:00:00Z"
    return {
        "chargingProfileId": pid,
        "stackLevel": stack,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": kind,
        "chargingSchedule": schedule,
        **extra,
    }


async def online(csms: Csms, agent_factory: AgentFactory) -> Agent:
    agent = await agent_factory(csms.url)
    await agent.accepted()
    return agent


def csms_limit(agent: Agent, cid: int = 1) -> float | None:
    return agent.station.limits.sources(cid).get("csms")


async def test_tx_default_profile_in_amps_sets_the_csms_limit(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    res = await csms.call(
        call.SetChargingProfile(
            connector_id=1, cs_charging_profiles=profile(100, "TxDefaultProfile", 10, stack=1)
        )
    )
    assert res.status == "Accepted"
    await until(lambda: csms_limit(agent) == 10, 5, "csms limit")
    await agent.plug(1)
    await agent.station.remote_start("T", 1)
    await agent.transaction(1)
    comp = await csms.call(
        call.GetCompositeSchedule(connector_id=1, duration=3600, charging_rate_unit="A")
    )
    assert comp.status == "Accepted"
    periods = comp.charging_schedule["charging_schedule_period"]
    assert periods[0]["limit"] == 10
    watts = await csms.call(
        call.GetCompositeSchedule(connector_id=1, duration=600, charging_rate_unit="W")
    )
    assert watts.charging_schedule["charging_rate_unit"] == "W"
    station = await csms.call(call.GetCompositeSchedule(connector_id=0, duration=600))
    assert station.status == "Accepted"
    bad = await csms.call(call.GetCompositeSchedule(connector_id=5, duration=600))
    assert bad.status == "Rejected"


async def test_charge_point_max_profile_in_watts_is_converted(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    p = profile(1, "ChargePointMaxProfile", 11040, unit="W")
    res = await csms.call(call.SetChargingProfile(connector_id=0, cs_charging_profiles=p))
    assert res.status == "Accepted"
    await until(lambda: csms_limit(agent) is not None, 5, "csms limit")
    assert csms_limit(agent) == pytest.approx(16.0, abs=0.2)


async def test_invalid_profiles_are_rejected_and_change_nothing(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    bad = [
        (1, profile(1, "ChargePointMaxProfile", 10)),  # must be on connector 0
        (1, profile(2, "TxProfile", 10)),  # no transaction
        (7, profile(3, "TxDefaultProfile", 10)),  # no such connector
    ]
    for cid, p in bad:
        res = await csms.call(call.SetChargingProfile(connector_id=cid, cs_charging_profiles=p))
        assert res.status == "Rejected", p
    assert csms_limit(agent) is None


async def test_tx_profile_for_the_running_transaction(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    await agent.plug(1)
    await agent.station.remote_start("T", 1)
    await csms.wait_for("StartTransaction")
    tx = await agent.transaction(1)
    for _ in range(100):
        if await agent.client.outbox.remote_id(tx) is not None:
            break
        await asyncio.sleep(0.02)
    p = profile(5, "TxProfile", 8, stack=2, transactionId=1001)
    res = await csms.call(call.SetChargingProfile(connector_id=1, cs_charging_profiles=p))
    assert res.status == "Accepted"
    await until(lambda: csms_limit(agent) == 8, 5, "tx limit")


async def test_capacity_keys_are_enforced(csms: Csms, agent_factory: AgentFactory) -> None:
    await online(csms, agent_factory)
    too_high = profile(1, "TxDefaultProfile", 10, stack=11)  # ChargeProfileMaxStackLevel 10
    res = await csms.call(call.SetChargingProfile(connector_id=1, cs_charging_profiles=too_high))
    assert res.status == "Rejected"


async def test_clear_charging_profile(csms: Csms, agent_factory: AgentFactory) -> None:
    agent = await online(csms, agent_factory)
    p = profile(100, "TxDefaultProfile", 12, stack=1)
    await csms.call(call.SetChargingProfile(connector_id=1, cs_charging_profiles=p))
    await until(lambda: csms_limit(agent) == 12, 5, "limit")
    assert (await csms.call(call.ClearChargingProfile(id=100))).status == "Accepted"
    assert (await csms.call(call.ClearChargingProfile(id=100))).status == "Unknown"
    await until(lambda: csms_limit(agent) is None, 5, "cleared")


async def test_remote_start_with_a_tx_profile(csms: Csms, agent_factory: AgentFactory) -> None:
    agent = await online(csms, agent_factory)
    await agent.plug(1)
    p = profile(9, "TxProfile", 7, stack=3)
    res = await csms.call(
        call.RemoteStartTransaction(id_tag="T", connector_id=1, charging_profile=p)
    )
    assert res.status == "Accepted"
    await csms.wait_for("StartTransaction")
    await until(lambda: csms_limit(agent) == 7, 5, "tx profile installed")
