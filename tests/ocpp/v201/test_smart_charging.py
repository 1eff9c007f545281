"""K Smart charging over OCPP 2.0.1 against a real v201 CSMS: the profiles become the
`csms` limit source of the same engine as 1.6, keyed by EVSE, and reach the pilot."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call

from tests.ocpp.conftest import Agent, AgentFactory, until
from tests.ocpp.csms import Csms
from tests.ocpp.csms201 import Csms201
from tests.ocpp.v201.stories import online

START = "2024-01-01T00:00:00Z"


def profile(
    pid: int,
    purpose: str,
    limit: float,
    unit: str = "A",
    stack: int = 0,
    kind: str = "Absolute",
    schedule: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    s: dict[str, Any] = {
        "id": pid + 1000,
        "charging_rate_unit": unit,
        "charging_schedule_period": [{"start_period": 0, "limit": limit}],
    }
    if kind != "Relative":
        s["start_schedule"] = START
    if kind == "Recurring":
        extra.setdefault("recurrency_kind", "Daily")
    return {
        "id": pid,
        "stack_level": stack,
        "charging_profile_purpose": purpose,
        "charging_profile_kind": kind,
        "charging_schedule": [{**s, **(schedule or {})}],
        **extra,
    }


async def set_profile(csms: Csms201, evse: int, p: dict[str, Any]) -> Any:
    return await csms.call(call.SetChargingProfile(evse_id=evse, charging_profile=p))


def csms_limit(agent: Agent, cid: int = 1) -> float | None:
    return agent.station.limits.sources(cid).get("csms")


async def our_transaction_id(csms: Csms201) -> str:
    started = await csms.wait_for(
        "TransactionEvent", pred=lambda m: m.payload["eventType"] == "Started"
    )
    return str(started[0].payload["transactionInfo"]["transactionId"])


async def test_a_profile_in_watts_lowers_the_pilot_offer(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    await agent.start_charging(1, "CARD1")
    await until(lambda: agent.plant.connectors[1].offered_a >= 16, 10, "full offer first")
    # 6900 W over 3 phases at the measured 230 V: 10 A per phase
    res = await set_profile(csms, 1, profile(1, "TxDefaultProfile", 6900, unit="W", stack=1))
    assert res.status == "Accepted"
    await until(lambda: agent.plant.connectors[1].offered_a == pytest.approx(10, abs=0.2), 10)
    assert csms_limit(agent) == pytest.approx(10, abs=0.2)
    assert agent.station.limits.effective(1).source == "csms"


async def test_station_max_profile_is_for_evse_0_only(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    res = await set_profile(csms, 1, profile(1, "ChargingStationMaxProfile", 12))
    assert res.status == "Rejected" and res.status_info["reason_code"] == "MaxProfileOnEvse"
    relative = profile(1, "ChargingStationMaxProfile", 12, kind="Relative")
    assert (await set_profile(csms, 0, relative)).status == "Rejected"
    assert csms_limit(agent) is None
    # 7360 W over 3 x 230 V: 10.6 A
    res = await set_profile(csms, 0, profile(1, "ChargingStationMaxProfile", 7360, unit="W"))
    assert res.status == "Accepted"
    await until(lambda: csms_limit(agent) == pytest.approx(10.6, abs=0.1), 5, "station max")


async def test_invalid_profiles_are_refused_with_a_reason_and_change_nothing(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    two = profile(1, "TxDefaultProfile", 10)
    two["charging_schedule"].append({**two["charging_schedule"][0], "id": 7})
    no_start = profile(1, "TxDefaultProfile", 10)
    del no_start["charging_schedule"][0]["start_schedule"]
    relative_with_start = profile(1, "TxDefaultProfile", 10, kind="Relative")
    relative_with_start["charging_schedule"][0]["start_schedule"] = START
    phase = {"start_period": 0, "limit": 10, "number_phases": 1, "phase_to_use": 2}
    late = {"start_period": 5, "limit": 10}
    cases = [
        (9, profile(1, "TxDefaultProfile", 10), "UnknownEVSE"),
        (1, no_start, "NoStartSchedule"),
        (1, relative_with_start, "StartScheduleSet"),
        (1, profile(1, "TxDefaultProfile", 10, schedule={"charging_schedule_period": [phase]}),
         "PhaseToUse"),
        (1, two, "Unsupported"),
        (1, profile(1, "TxDefaultProfile", 10, schedule={"charging_schedule_period": [late]}),
         "InvalidProfile"),
        (1, profile(1, "TxDefaultProfile", 10, stack=99), "InvalidProfile"),
        (1, profile(1, "ChargingStationExternalConstraints", 10), "UnsupportedPurpose"),
    ]  # fmt: skip
    for evse, p, reason in cases:
        res = await set_profile(csms, evse, p)
        assert res.status == "Rejected", p
        assert res.status_info["reason_code"] == reason, p
    assert agent.client.smart.count() == 0
    assert csms_limit(agent) is None


async def test_tx_profile_needs_the_ongoing_transaction_by_our_id(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    p = profile(5, "TxProfile", 8, stack=2, kind="Relative", transaction_id="x-1")
    assert (await set_profile(csms, 1, p)).status_info["reason_code"] == "NoTransaction"
    await agent.start_charging(1, "CARD1")
    tx = await our_transaction_id(csms)
    assert tx.startswith(agent.client.ctx.instance_id + "-")
    cases = [
        (1, {k: v for k, v in p.items() if k != "transaction_id"}, "NoTransactionId"),
        (1, {**p, "transaction_id": tx + "0"}, "TxNotOnEvse"),
        (0, {**p, "transaction_id": tx}, "TxProfileOnEvse0"),
    ]
    for evse, bad, reason in cases:
        res = await set_profile(csms, evse, bad)
        assert res.status == "Rejected" and res.status_info["reason_code"] == reason
    assert (await set_profile(csms, 1, {**p, "transaction_id": tx})).status == "Accepted"
    await until(lambda: csms_limit(agent) == 8, 5, "tx limit")
    # a second TxProfile of the same transaction at the same stack level: K01.FR.39
    other = {**p, "id": 6, "transaction_id": tx}
    res = await set_profile(csms, 1, other)
    assert res.status_info["reason_code"] == "TxStackLevelUsed"
    # reported with our transactionId; gone with the transaction
    criteria = {"charging_profile_purpose": "TxProfile"}
    report = await csms.call(call.GetChargingProfiles(request_id=3, charging_profile=criteria))
    assert report.status == "Accepted"
    rep = (await csms.wait_for("ReportChargingProfiles"))[0].payload
    assert rep["chargingProfile"][0]["transactionId"] == tx
    await agent.unplug(1)
    await until(lambda: agent.client.smart.count() == 0, 5, "tx profile dropped")
    assert csms_limit(agent) is None


async def test_tx_default_on_evse_0_is_every_evse_and_one_evse_overrides(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory, connectors=2)
    assert (await set_profile(csms, 0, profile(1, "TxDefaultProfile", 12, stack=1))).status == (
        "Accepted"
    )
    await until(lambda: csms_limit(agent, 1) == 12 and csms_limit(agent, 2) == 12, 5)
    # K01.FR.52/53: that stack level is station-wide now, not for one EVSE
    res = await set_profile(csms, 2, profile(2, "TxDefaultProfile", 6, stack=1))
    assert res.status_info["reason_code"] == "DuplicateTxDefault"
    assert (await set_profile(csms, 2, profile(2, "TxDefaultProfile", 6, stack=2))).status == (
        "Accepted"
    )
    await until(lambda: csms_limit(agent, 2) == 6, 5, "evse 2 override")
    assert csms_limit(agent, 1) == 12


async def test_same_stack_level_only_when_validity_periods_do_not_overlap(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    day1 = {"valid_from": "2024-01-01T00:00:00Z", "valid_to": "2024-01-02T00:00:00Z"}
    later = {"valid_from": "2024-01-02T00:00:00Z", "valid_to": "2099-01-01T00:00:00Z"}
    assert (await set_profile(csms, 1, profile(1, "TxDefaultProfile", 8, **day1))).status == (
        "Accepted"
    )
    assert (await set_profile(csms, 1, profile(2, "TxDefaultProfile", 9, **later))).status == (
        "Accepted"
    )
    overlap = profile(3, "TxDefaultProfile", 7, valid_from="2024-01-01T12:00:00Z")
    res = await set_profile(csms, 1, overlap)
    assert res.status_info["reason_code"] == "DuplicateProfile"
    assert agent.client.smart.count() == 2
    await until(lambda: csms_limit(agent) == 9, 5, "the one valid now")
    # the same id replaces itself (K01.FR.05)
    assert (await set_profile(csms, 1, profile(2, "TxDefaultProfile", 11, **later))).status == (
        "Accepted"
    )
    await until(lambda: csms_limit(agent) == 11, 5, "replaced")


async def test_clear_by_id_and_by_criteria(csms: Csms201, agent_factory: AgentFactory) -> None:
    agent = await online(csms, agent_factory, connectors=2)
    await set_profile(csms, 0, profile(1, "ChargingStationMaxProfile", 20))
    await set_profile(csms, 1, profile(2, "TxDefaultProfile", 10, stack=1))
    await set_profile(csms, 2, profile(3, "TxDefaultProfile", 9, stack=1))
    assert agent.client.smart.count() == 3
    # with an id, the criteria do not matter
    res = await csms.call(
        call.ClearChargingProfile(charging_profile_id=2, charging_profile_criteria={"evse_id": 2})
    )
    assert res.status == "Accepted"
    assert [p.id for p in agent.client.smart.matching()] == [1, 3]
    unknown = {"charging_profile_purpose": "ChargingStationExternalConstraints"}
    res = await csms.call(call.ClearChargingProfile(charging_profile_criteria=unknown))
    assert res.status == "Unknown"
    res = await csms.call(call.ClearChargingProfile(charging_profile_criteria={"evse_id": 7}))
    assert res.status == "Unknown"
    res = await csms.call(
        call.ClearChargingProfile(
            charging_profile_criteria={"evse_id": 2, "charging_profile_purpose": "TxDefaultProfile"}
        )
    )
    assert res.status == "Accepted"
    assert [p.id for p in agent.client.smart.matching()] == [1]
    assert (await csms.call(call.ClearChargingProfile())).status == "Accepted"
    assert (await csms.call(call.ClearChargingProfile())).status == "Unknown"
    await until(lambda: csms_limit(agent, 1) is None and csms_limit(agent, 2) is None, 5)


async def test_get_charging_profiles_reports_per_evse_in_parts(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory, connectors=2)
    await set_profile(csms, 0, profile(1, "ChargingStationMaxProfile", 20))
    await set_profile(csms, 1, profile(2, "TxDefaultProfile", 10, stack=1, unit="W"))
    await set_profile(csms, 2, profile(3, "TxDefaultProfile", 9, stack=2, kind="Recurring"))
    res = await csms.call(call.GetChargingProfiles(request_id=11, charging_profile={}))
    assert res.status == "Accepted"
    parts = [m.payload for m in await csms.wait_for("ReportChargingProfiles", 3)]
    assert [p["evseId"] for p in parts] == [0, 1, 2]
    assert [p.get("tbc") for p in parts] == [True, True, False]
    assert {p["requestId"] for p in parts} == {11}
    assert {p["chargingLimitSource"] for p in parts} == {"CSO"}
    w = parts[1]["chargingProfile"][0]
    assert w["chargingProfilePurpose"] == "TxDefaultProfile"
    assert w["chargingSchedule"][0]["id"] == 1002  # as the CSMS gave it
    assert w["chargingSchedule"][0]["chargingRateUnit"] == "W"
    assert parts[2]["chargingProfile"][0]["recurrencyKind"] == "Daily"
    # criteria
    none = [
        ({"charging_limit_source": ["EMS"]}, None),
        ({"charging_profile_purpose": "ChargingStationExternalConstraints"}, None),
        ({}, 7),
        ({"charging_profile_id": [42]}, None),
    ]
    for criteria, evse in none:
        res = await csms.call(
            call.GetChargingProfiles(request_id=12, charging_profile=criteria, evse_id=evse)
        )
        assert res.status == "NoProfiles", criteria
    res = await csms.call(call.GetChargingProfiles(request_id=13, charging_profile={}, evse_id=0))
    assert res.status == "Accepted"
    only = await csms.wait_for(
        "ReportChargingProfiles", pred=lambda m: m.payload["requestId"] == 13
    )
    assert [p["id"] for p in only[0].payload["chargingProfile"]] == [1]
    assert agent.client.smart.count() == 3


async def test_composite_schedule_per_evse_in_amps_and_watts(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    await set_profile(csms, 0, profile(1, "ChargingStationMaxProfile", 20))
    await set_profile(csms, 1, profile(2, "TxDefaultProfile", 10, stack=1))
    await agent.start_charging(1, "CARD1")
    res = await csms.call(
        call.GetCompositeSchedule(duration=600, evse_id=1, charging_rate_unit="A")
    )
    assert res.status == "Accepted"
    s = res.schedule
    assert s["evse_id"] == 1 and s["duration"] == 600 and s["charging_rate_unit"] == "A"
    assert s["charging_schedule_period"][0]["limit"] == 10
    assert s["schedule_start"].endswith("Z")
    res = await csms.call(
        call.GetCompositeSchedule(duration=600, evse_id=1, charging_rate_unit="W")
    )
    assert res.schedule["charging_schedule_period"][0]["limit"] == pytest.approx(6900, abs=30)
    station = await csms.call(call.GetCompositeSchedule(duration=60, evse_id=0))
    assert station.status == "Accepted"
    assert station.schedule["charging_schedule_period"][0]["limit"] == 20
    bad = await csms.call(call.GetCompositeSchedule(duration=60, evse_id=3))
    assert bad.status == "Rejected" and bad.status_info["reason_code"] == "UnknownEVSE"


async def test_composite_schedule_includes_the_local_limits(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    """K08: the composite is "all active schedules and possible local limits": a grid or
    installer limit below the profile caps every period, in A and in W."""
    agent = await online(csms, agent_factory)
    await set_profile(csms, 1, profile(2, "TxDefaultProfile", 16, stack=1))
    await agent.start_charging(1, "CARD1")
    agent.station.limits.set("grid", 8.0)  # load balancing: the house draws the rest
    res = await csms.call(
        call.GetCompositeSchedule(duration=600, evse_id=1, charging_rate_unit="A")
    )
    assert [p["limit"] for p in res.schedule["charging_schedule_period"]] == [8.0]
    res = await csms.call(
        call.GetCompositeSchedule(duration=600, evse_id=1, charging_rate_unit="W")
    )
    assert res.schedule["charging_schedule_period"][0]["limit"] == pytest.approx(5520, abs=30)

    async def limit(evse_id: int) -> float:
        res = await csms.call(
            call.GetCompositeSchedule(duration=60, evse_id=evse_id, charging_rate_unit="A")
        )
        return float(res.schedule["charging_schedule_period"][0]["limit"])

    # a station-wide local limit caps EVSE 0 too; a connector's own only its EVSE
    assert await limit(0) == 8.0
    agent.station.limits.set("grid", None)
    agent.station.limits.set("installer", 12.0)
    assert (await limit(0), await limit(1)) == (12.0, 12.0)
    agent.station.limits.set("external", 6.0, connector_id=1)
    assert (await limit(0), await limit(1)) == (12.0, 6.0)


async def test_request_start_with_a_tx_profile(csms: Csms201, agent_factory: AgentFactory) -> None:
    agent = await online(csms, agent_factory)
    await agent.plug(1)
    p = profile(9, "TxProfile", 7, stack=3, kind="Relative")
    token = {"id_token": "APP1", "type": "Central"}
    named = {**p, "transaction_id": "a-1"}
    bad = await csms.call(
        call.RequestStartTransaction(
            id_token=token, remote_start_id=1, evse_id=1, charging_profile=named
        )
    )
    assert bad.status == "Rejected"
    res = await csms.call(
        call.RequestStartTransaction(
            id_token=token, remote_start_id=2, evse_id=1, charging_profile=p
        )
    )
    assert res.status == "Accepted"
    tx = await our_transaction_id(csms)
    await until(lambda: csms_limit(agent) == 7, 10, "tx profile installed")
    await until(lambda: agent.plant.connectors[1].offered_a == 7, 10, "pilot")
    installed = agent.client.smart.matching(purpose="TxProfile")
    assert [p.transaction_id for p in installed] == [int(tx.rsplit("-", 1)[1])]


async def test_a_local_limit_below_the_profiles_is_told_once_per_source(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    agent.client.local_limits.hold = 0.3
    limits = agent.station.limits
    await set_profile(csms, 1, profile(1, "TxDefaultProfile", 16, stack=1))
    await until(lambda: csms_limit(agent) == 16, 5, "profile")
    limits.set("grid", 8.0)  # the household draws: the grid limit wins
    told = (await csms.wait_for("NotifyChargingLimit"))[0].payload
    assert told["evseId"] == 1
    assert told["chargingLimit"] == {"chargingLimitSource": "EMS"}
    assert told["chargingSchedule"][0]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 8.0}
    ]
    for amps in (7.5, 7.0, 6.5):  # new values, the same source: nothing new to tell
        limits.set("grid", amps)
    limits.set("installer", 6.0)  # a fixed cap below it: another source
    other = await csms.wait_for("NotifyChargingLimit", 2)
    assert other[1].payload["chargingLimit"]["chargingLimitSource"] == "Other"
    limits.set("grid", 20.0)
    limits.set("installer", None)  # the profile is the limit again
    cleared = (await csms.wait_for("ClearedChargingLimit"))[0].payload
    assert cleared == {"chargingLimitSource": "Other", "evseId": 1}
    await asyncio.sleep(0.5)
    assert len(csms.calls("NotifyChargingLimit")) == 2
    # above the profile the grid limit constrains nothing
    assert limits.effective(1).source == "csms"


async def test_profiles_set_under_2_0_1_hold_under_1_6_after_a_restart(
    tmp_path: Path,
    csms: Csms201,
    csms_factory: Callable[..., Awaitable[Csms]],
    agent_factory: AgentFactory,
) -> None:
    first = await online(csms, agent_factory, data_dir=tmp_path / "d")
    await set_profile(csms, 1, profile(1, "TxDefaultProfile", 6900, unit="W", stack=1))
    await until(lambda: csms_limit(first) == pytest.approx(10, abs=0.2), 5, "2.0.1 profile")
    await first.client.stop()
    await first.station.stop()
    await first.station.store.close()
    old = await csms_factory()
    second = await agent_factory(old.url, data_dir=tmp_path / "d", version="1.6")
    await second.accepted()
    await until(lambda: csms_limit(second) == pytest.approx(10, abs=0.2), 5, "the same limit")
    comp = await old.call(
        call16.GetCompositeSchedule(connector_id=1, duration=60, charging_rate_unit="A")
    )
    assert comp.status == "Accepted"
    assert comp.charging_schedule["charging_schedule_period"][0]["limit"] == pytest.approx(
        10, abs=0.2
    )
    assert (await old.call(call16.ClearChargingProfile(id=1))).status == "Accepted"
    await until(lambda: csms_limit(second) is None, 5, "cleared under 1.6")


async def test_a_limit_flipping_between_sources_cannot_flood_the_csms(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    agent.client.local_limits.hold = 1.0
    await set_profile(csms, 1, profile(1, "TxDefaultProfile", 10, stack=1))
    await until(lambda: csms_limit(agent) == 10, 5, "profile")
    for i in range(40):  # the grid limit around the profile's: below, above, below...
        agent.station.limits.set("grid", 9.5 if i % 2 == 0 else 10.5)
        await asyncio.sleep(0.02)
    agent.station.limits.set("grid", 9.0)  # and it stays below
    await asyncio.sleep(1.5)
    told = csms.calls("NotifyChargingLimit") + csms.calls("ClearedChargingLimit")
    assert 1 <= len(told) <= 4, [m.action for m in told]  # 40 flips, a 1 s hold
    # the last word is the state now: constrained by the grid
    assert csms.calls("NotifyChargingLimit")[-1].payload["chargingLimit"] == {
        "chargingLimitSource": "EMS"
    }


async def test_limit_change_significance_and_schedules_from_the_device_model(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    agent.client.local_limits.hold = 0.2
    data = [
        {
            "attribute_value": value,
            "component": {"name": "SmartChargingCtrlr"},
            "variable": {"name": name},
        }
        for name, value in (
            ("LimitChangeSignificance", "50"),
            ("NotifyChargingLimitWithSchedules", "false"),
        )
    ]
    res = await csms.call(call.SetVariables(set_variable_data=data))
    assert {r["attribute_status"] for r in res.set_variable_result} == {"Accepted"}
    limits = agent.station.limits
    limits.set("grid", 20.0)
    first = (await csms.wait_for("NotifyChargingLimit"))[0].payload
    assert "chargingSchedule" not in first
    limits.set("grid", 12.0)  # 40 % less: below the significance
    await asyncio.sleep(0.5)
    assert len(csms.calls("NotifyChargingLimit")) == 1
    limits.set("grid", 8.0)  # 60 % less than the 20 A told
    await csms.wait_for("NotifyChargingLimit", 2)
