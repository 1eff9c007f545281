"""Field hardening items of the OCPP client not covered elsewhere: the CSMS URL (13, 20),
SecurityEventNotification to a CSMS without it (14), why a RemoteStart is refused (7)."""

from __future__ import annotations

import logging

import pytest
from ocpp.v16 import call

from ncpa.config import ConfigError
from ncpa.log import fields_of
from ncpa.ocpp.options import csms_url, parse_options
from tests.ocpp.conftest import AgentFactory, make_config, until
from tests.ocpp.csms import Csms, Quirks


def test_the_id_is_percent_encoded_in_the_url() -> None:
    assert csms_url("ws://h/ocpp", "CP#1?x y") == "ws://h/ocpp/CP%231%3Fx%20y"
    assert csms_url("ws://h/ocpp/", "CP1") == "ws://h/ocpp/CP1"
    assert csms_url("ws://h/ocpp/{id}/", "A/B") == "ws://h/ocpp/A%2FB/"
    assert csms_url("ws://h/{id}/ocpp", "CP1") == "ws://h/CP1/ocpp"


def test_a_url_with_another_placeholder_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = make_config("ws://h/{station}/x", tmp_path)
    with pytest.raises(ConfigError, match="placeholder"):
        parse_options(config)


def test_a_colon_in_the_id_is_refused_with_basic_auth(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    config = make_config("ws://h/ocpp", tmp_path, security_profile=1, authorization_key="k" * 16)
    config = replace(config, station=replace(config.station, id="CP:1"))
    with pytest.raises(ConfigError, match="':'"):
        parse_options(config)


async def test_a_trailing_slash_template_reaches_the_csms(
    csms_factory, agent_factory: AgentFactory
) -> None:
    csms = await csms_factory(Quirks(prefix="/ocpp/CP1"))  # the id, then an empty last part
    agent = await agent_factory(f"ws://127.0.0.1:{csms.port}/ocpp/{{id}}/")
    await agent.accepted()
    assert csms.paths == ["/ocpp/CP1/"]


async def test_security_events_stop_for_a_csms_that_has_none(
    csms_factory, agent_factory: AgentFactory
) -> None:
    csms = await csms_factory(Quirks(error_codes={"SecurityEventNotification": "NotImplemented"}))
    agent = await agent_factory(csms.url)
    await agent.accepted()
    await csms.wait_for("SecurityEventNotification")
    for n in range(3):  # reconnects and new events: none is sent there again
        await agent.client.security.event("SettingSystemTime", f"test {n}")
        await csms.drop()
        await until(lambda n=n: csms.connections >= n + 2, 10, "reconnected")
        await agent.accepted()
    await csms.wait_for("StatusNotification", 4)
    assert len(csms.calls("SecurityEventNotification")) == 1
    entries = await agent.client.security.entries()
    assert [e["type"] for e in entries].count("SettingSystemTime") == 3


async def test_remote_start_on_connector_0_is_refused_with_a_reason(
    csms: Csms, agent_factory: AgentFactory, caplog: pytest.LogCaptureFixture
) -> None:
    agent = await agent_factory(csms.url)
    await agent.accepted()
    caplog.set_level(logging.INFO)
    res = await csms.call(call.RemoteStartTransaction(id_tag="T", connector_id=0))
    assert res.status == "Rejected"
    rejected = [r for r in caplog.records if r.getMessage() == "ocpp.remote_start.rejected"]
    assert rejected and "connectorId 0" in fields_of(rejected[-1])["why"]
