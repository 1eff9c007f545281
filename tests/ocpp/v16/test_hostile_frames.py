"""Hostile and malformed frames from the CSMS (OCPP-J RPC framework, field hardening 8-11).

Each story sends raw frames over the real websocket and checks three things: the answer
the RPC rules call for (a CallError with the frame's id, or nothing when no id can be
read), that the connection stays up, and that nothing changed.
"""

from __future__ import annotations

import json
import time

from ocpp.v16 import call

from tests.ocpp.conftest import Agent, AgentFactory, until
from tests.ocpp.csms import Csms


async def online(csms: Csms, agent_factory: AgentFactory, **kw: object) -> Agent:
    agent = await agent_factory(csms.url, **kw)
    await agent.accepted()
    await csms.wait_for("StatusNotification", 2)
    return agent


async def still_serving(csms: Csms, agent: Agent) -> None:
    """The same connection answers a valid call, and the agent was never disconnected."""
    res = await csms.call(call.GetConfiguration(key=["HeartbeatInterval"]))
    assert res.configuration_key[0]["value"] == "60"
    assert csms.connections == 1
    assert agent.client.connected.is_set()
    assert csms.invalid_json == []


def csms_limit(agent: Agent) -> float | None:
    return agent.station.limits.sources(1).get("csms")


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


async def test_a_thousand_unknown_call_results_do_not_kill_the_status_sender(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    for i in range(1000):
        await csms.send_raw(json.dumps([3, f"stale-{i}", {}]))
        await csms.send_raw(json.dumps([4, f"err-{i}", "InternalError", "", {}]))
    before = len(csms.calls("StatusNotification"))
    await agent.plug(1)
    # plug-in is reported, and every later status change too
    await csms.wait_for("StatusNotification", before + 1)
    await agent.station.remote_start("TAG", 1)
    await csms.wait_for("StartTransaction")
    agent.plant.unplug(1)
    await csms.wait_for("StopTransaction")
    await csms.wait_for(
        "StatusNotification", pred=lambda m: m.payload["status"] == "Available", within=5
    )
    await still_serving(csms, agent)


async def test_deep_nesting_gets_a_formation_violation(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    frame = '[2,"deep1","DataTransfer",{"vendorId":"x","data":' + nested(1000) + "}]"
    await csms.send_raw(frame)
    answer = await csms.raw_answer("deep1")
    assert answer is not None and answer[0] == 4 and answer[2] == "FormationViolation"
    # deep, but not past Python's parser: still refused, not a RecursionError later
    frame = '[2,"deep2","DataTransfer",{"vendorId":"x","data":' + nested(200) + "}]"
    await csms.send_raw(frame)
    answer = await csms.raw_answer("deep2")
    assert answer is not None and answer[0] == 4
    await still_serving(csms, agent)


async def test_an_action_that_is_not_a_string_gets_a_protocol_error(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    await csms.send_raw('[2,"x1",["Reset"],{"type":"Hard"}]')
    await csms.send_raw('[2,"x2",{"a":"Reset"},{"type":"Hard"}]')
    for uid in ("x1", "x2"):
        answer = await csms.raw_answer(uid)
        assert answer is not None and answer[:3] == [4, uid, "ProtocolError"]
    await still_serving(csms, agent)


async def test_nan_and_infinity_limits_are_refused_and_change_nothing(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    for n, bad in enumerate(("NaN", "Infinity", "-Infinity", "1e400")):
        frame = (
            f'[2,"p{n}","SetChargingProfile",{{"connectorId":1,"csChargingProfiles":'
            '{"chargingProfileId":1,"stackLevel":0,"chargingProfilePurpose":"TxDefaultProfile",'
            '"chargingProfileKind":"Absolute","chargingSchedule":{"chargingRateUnit":"A",'
            f'"chargingSchedulePeriod":[{{"startPeriod":0,"limit":{bad}}}]}}}}}}]'
        )
        await csms.send_raw(frame)
        answer = await csms.raw_answer(f"p{n}")
        assert answer is not None and answer[0] == 4 and answer[2] == "FormationViolation"
        frame = f'[2,"r{n}","RemoteStartTransaction",{{"idTag":"T","connectorId":{bad}}}]'
        await csms.send_raw(frame)
        answer = await csms.raw_answer(f"r{n}")
        assert answer is not None and answer[0] == 4
    assert csms_limit(agent) is None
    assert agent.station.view(1).transaction is None
    await still_serving(csms, agent)


async def test_message_ids_that_cannot_be_answered_get_no_call_result(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    answers_before = len(csms.answers())
    for frame in (
        '[2,1e400,"GetConfiguration",{}]',
        '[2,7,"GetConfiguration",{}]',
        '[2,null,"GetConfiguration",{}]',
        '[2,["a"],"GetConfiguration",{}]',
        f'[2,"{"a" * 37}","GetConfiguration",{{}}]',
        '[2,"","GetConfiguration",{}]',
    ):
        await csms.send_raw(frame)
    await still_serving(csms, agent)
    # only the answer to still_serving's own call
    assert len(csms.answers()) == answers_before + 1


async def test_binary_frames_are_not_acted_on(csms: Csms, agent_factory: AgentFactory) -> None:
    agent = await online(csms, agent_factory)
    await csms.send_raw(b'[2,"b1","ChangeConfiguration",{"key":"HeartbeatInterval","value":"7"}]')
    assert await csms.raw_answer("b1", within=1) is None
    await still_serving(csms, agent)  # HeartbeatInterval still 60


async def test_a_call_without_payload_gets_a_call_error(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    await csms.send_raw('[2,"m1","GetConfiguration"]')
    await csms.send_raw('[2,"m2","GetConfiguration","key"]')
    await csms.send_raw('[2,"m3","GetConfiguration",{},{}]')
    await csms.send_raw('[9,"m4","GetConfiguration",{}]')
    for uid in ("m1", "m2", "m3", "m4"):
        answer = await csms.raw_answer(uid)
        assert answer is not None and answer[0] == 4, uid
    await still_serving(csms, agent)


async def test_not_json_with_a_readable_id_gets_a_call_error(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    await csms.send_raw('[2,"j1","GetConfiguration",{"key":[}')
    answer = await csms.raw_answer("j1")
    assert answer is not None and answer[:3] == [4, "j1", "FormationViolation"]
    await csms.send_raw("not json at all")
    await still_serving(csms, agent)


async def test_dates_that_are_not_date_times_are_refused(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    frame = json.dumps(
        [
            2,
            "v1",
            "SetChargingProfile",
            {
                "connectorId": 1,
                "csChargingProfiles": {
                    "chargingProfileId": 1,
                    "stackLevel": 0,
                    "chargingProfilePurpose": "TxDefaultProfile",
                    "chargingProfileKind": "Absolute",
                    "validFrom": "2026-12-01",
                    "chargingSchedule": {
                        "chargingRateUnit": "A",
                        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6}],
                    },
                },
            },
        ]
    )
    await csms.send_raw(frame)
    answer = await csms.raw_answer("v1")
    assert answer is not None and answer[:3] == [4, "v1", "PropertyConstraintViolation"]
    assert csms_limit(agent) is None
    await still_serving(csms, agent)


async def test_diagnostics_to_a_location_that_is_no_upload_target_is_refused(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    for n, location in enumerate(("not a uri", "file:///etc/passwd", "gopher://x/y", "http://")):
        frame = json.dumps([2, f"g{n}", "GetDiagnostics", {"location": location}])
        await csms.send_raw(frame)
        answer = await csms.raw_answer(f"g{n}")
        assert answer is not None and answer[0] == 4, location
    assert agent.client.diagnostics.status == "Idle"
    assert csms.calls("DiagnosticsStatusNotification") == []
    await still_serving(csms, agent)


async def test_a_reservation_that_expired_in_1900_is_rejected(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    res = await csms.call(
        call.ReserveNow(
            connector_id=1, expiry_date="1900-01-01T00:00:00Z", id_tag="R1", reservation_id=3
        )
    )
    assert res.status == "Rejected"
    assert agent.station.view(1).status == "Available"
    await still_serving(csms, agent)


async def test_configuration_values_out_of_range_are_rejected(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    for value in (
        "99999999999999999999",
        "1_0",
        " 10",
        "\u0661\u0660",
        "\uff11\uff10",
        "-5",
        "864000",
    ):
        res = await csms.call(call.ChangeConfiguration(key="MeterValueSampleInterval", value=value))
        assert res.status == "Rejected", value
    assert agent.client.settings.get("MeterValueSampleInterval") == "60"
    await still_serving(csms, agent)


async def test_the_frame_trace_shows_frames_with_secrets_redacted(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    trace = agent.client.frame_trace
    assert not trace.enabled and trace.recent() == []
    await trace.set_enabled(True)
    secret = "s3cret-key-0123456789"
    res = await csms.call(call.ChangeConfiguration(key="AuthorizationKey", value=secret))
    assert res.status == "Accepted"
    await csms.call(call.GetConfiguration())
    frames = trace.recent(50)
    assert any("ChangeConfiguration" in f["frame"] for f in frames if f["direction"] == "in")
    assert all(secret not in f["frame"] for f in frames)
    assert {f["direction"] for f in frames} == {"in", "out"}
    # the switch is kept across restarts
    assert await agent.station.store.get_setting("ocpp.frame_trace") is True
    await trace.set_enabled(False)
    assert trace.recent() == []


async def test_a_handler_that_fails_answers_internal_error_and_the_line_stays(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)

    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("disk on fire")

    agent.client.station.set_operative = broken  # type: ignore[method-assign]
    frame = json.dumps([2, "h1", "ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}])
    await csms.send_raw(frame)
    answer = await csms.raw_answer("h1")
    assert answer is not None and answer[:3] == [4, "h1", "InternalError"]
    await still_serving(csms, agent)


async def test_late_and_duplicate_answers_are_dropped(csms_factory, agent_factory) -> None:
    """The cloud gateway's answers travel through queues: late, twice, out of order."""
    from tests.ocpp.csms import Quirks

    csms = await csms_factory(Quirks())
    agent = await online(csms, agent_factory)
    # answer every Heartbeat the agent sends a second time, and a stale one after that
    started = time.monotonic()
    await agent.client.session.heartbeat()  # type: ignore[union-attr]
    heartbeats = csms.calls("Heartbeat")
    uid = heartbeats[-1].unique_id
    await csms.send_raw(json.dumps([3, uid, {"currentTime": "2026-12-01T00:00:00Z"}]))
    await csms.send_raw(json.dumps([3, "long-gone", {"currentTime": "2026-12-01T00:00:00Z"}]))
    await until(lambda: agent.client.session is not None, 2)
    await still_serving(csms, agent)
    assert time.monotonic() - started < 30
