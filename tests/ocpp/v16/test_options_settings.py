"""Config file options of the OCPP client, and the settings shared with the local API."""

from __future__ import annotations

from pathlib import Path

import pytest
from ocpp.v16 import call

from ncpa.config import Config, ConfigError, OcppConfig, StationConfig
from ncpa.ocpp.options import parse_options
from tests.ocpp.conftest import AgentFactory
from tests.ocpp.csms import Csms


def cfg(**ocpp: object) -> Config:
    return Config(
        station=StationConfig(id="CP9"),
        ocpp=OcppConfig(csms_url=str(ocpp.pop("url", "ws://h/ocpp")), version="1.6"),
        raw={"ocpp_client": ocpp},
    )


def test_options_from_the_config() -> None:
    o = parse_options(cfg(security_profile=1, authorization_key="k" * 16, call_timeout=5))
    assert (o.security_profile, o.call_timeout, o.url) == (1, 5.0, "ws://h/ocpp/CP9")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"bogus": 1}, "ocpp.bogus: unknown setting"),
        ({"call_timeout": "10"}, "ocpp.call_timeout: expected float"),
        ({"security_profile": 1}, "authorization_key: required"),
        ({"security_profile": 2, "authorization_key": "k" * 16}, "need wss://"),
        ({"security_profile": 3, "url": "wss://h/o", "ca_file": "/x"}, "client_cert"),
        ({"security_profile": 4}, "must be 0..3"),
    ],
)
def test_bad_options_name_the_setting(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_options(cfg(**options))


async def test_local_api_and_csms_see_the_same_settings(
    tmp_path: Path, csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await agent_factory(csms.url)
    await agent.accepted()
    settings = agent.client.settings  # what the local API is given
    assert await settings.change("MeterValueSampleInterval", "15") == "Accepted"
    res = await csms.call(call.GetConfiguration(key=["MeterValueSampleInterval"]))
    assert res.configuration_key[0]["value"] == "15"
    await csms.call(call.ChangeConfiguration(key="ClockAlignedDataInterval", value="900"))
    assert settings.get("ClockAlignedDataInterval") == "900"
    assert await settings.change("NumberOfConnectors", "2") == "Rejected"
    assert await settings.change("HeartbeatInterval", "-1") == "Rejected"
    assert settings.get("HeartbeatInterval") == "60"  # bad input changed nothing
