"""B09 SetNetworkProfile and B10 migration with fallback, against real v201 central
systems on their own ports (and one URL that refuses every connection)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ocpp.v201 import call

from tests.ocpp.conftest import Agent, AgentFactory, until
from tests.ocpp.csms import Quirks
from tests.ocpp.csms201 import Csms201
from tests.ocpp.daemon import free_port
from tests.ocpp.v201.stories import online, power_off

KEY = "k" * 16  # AuthorizationKey for security profile 1


def profile(url: str, security: int = 1, **kw: Any) -> dict[str, Any]:
    return {
        "ocpp_version": "OCPP20",
        "ocpp_transport": "JSON",
        "ocpp_csms_url": url,
        "message_timeout": 30,
        "security_profile": security,
        "ocpp_interface": "Wired0",
        **kw,
    }


async def set_profile(csms: Csms201, slot: int, data: dict[str, Any]) -> tuple[str, str | None]:
    res = await csms.call(call.SetNetworkProfile(configuration_slot=slot, connection_data=data))
    return res.status, (res.status_info or {}).get("reason_code")


async def set_priority(csms: Csms201, value: str) -> str:
    res = await csms.call(
        call.SetVariables(
            set_variable_data=[
                {
                    "component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": "NetworkConfigurationPriority"},
                    "attribute_value": value,
                }
            ]
        )
    )
    return str(res.set_variable_result[0]["attribute_status"])


async def active_profile(csms: Csms201) -> str:
    res = await csms.call(
        call.GetVariables(
            get_variable_data=[
                {
                    "component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": "ActiveNetworkProfile"},
                }
            ]
        )
    )
    return str(res.get_variable_result[0]["attribute_value"])


async def restart(agent: Agent, agent_factory: AgentFactory, url: str, data_dir: Path) -> Agent:
    await power_off(agent)
    return await agent_factory(url, version="2.0.1", data_dir=data_dir)


SETTINGS = {"AuthorizationKey": KEY, "SecurityProfile": "1"}


async def test_set_network_profile_rules(csms: Csms201, agent_factory: AgentFactory) -> None:
    await online(csms, agent_factory, settings=SETTINGS)
    other = f"ws://127.0.0.1:{free_port()}/ocpp"
    assert await set_profile(csms, 1, profile(other, security=0)) == ("Rejected", "NoDowngrade")
    assert await set_profile(csms, 1, profile(other, security=2)) == (
        "Rejected",
        "SecurityNotReady",
    )
    soap = profile(other, ocpp_transport="SOAP")
    assert await set_profile(csms, 1, soap) == ("Rejected", "NoSOAP")
    assert await set_profile(csms, 1, profile(other, ocpp_version="OCPP15")) == (
        "Rejected",
        "UnsupportedVersion",
    )
    assert await set_profile(csms, 1, profile("http://example.invalid/ocpp")) == (
        "Rejected",
        "InvalidURL",
    )
    assert await set_profile(csms, 0, profile(other)) == ("Rejected", "InvalidSlot")
    assert await set_profile(csms, 99, profile(other)) == ("Rejected", "InvalidSlot")
    # no profile in slot 1 yet: it cannot be listed
    assert await set_priority(csms, "1") == "Rejected"
    assert await set_profile(csms, 1, profile(other)) == ("Accepted", None)
    assert await set_priority(csms, "1,1") == "Rejected"
    assert await set_priority(csms, "1") == "RebootRequired"
    assert await active_profile(csms) == "0"  # still the configuration file's connection


async def test_migrate_to_a_new_csms(
    tmp_path: Path, csms: Csms201, agent_factory: AgentFactory, csms201_factory: Any
) -> None:
    """B10: the old CSMS gives the new one's profile, lists it first, resets the station."""
    new = await csms201_factory()
    data = tmp_path / "d"
    agent = await online(csms, agent_factory, settings=SETTINGS, data_dir=data)
    assert await set_profile(csms, 1, profile(new.url)) == ("Accepted", None)
    assert await set_priority(csms, "1") == "RebootRequired"
    agent = await restart(agent, agent_factory, csms.url, data)
    await agent.accepted()
    assert new.calls("BootNotification") and new.paths[-1] == "/ocpp/CP1"
    assert await active_profile(new) == "1"
    await new.wait_for("StatusNotification")
    # the profile's messageTimeout is this connection's call timeout
    assert agent.client.session is not None and agent.client.session.rpc.call_timeout == 30
    res = await new.call(
        call.GetVariables(
            get_variable_data=[
                {
                    "component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": "MessageTimeout", "instance": "Default"},
                }
            ]
        )
    )
    assert res.get_variable_result[0]["attribute_value"] == "30"


async def test_a_failing_profile_falls_back_to_the_previous_one(
    tmp_path: Path, csms: Csms201, agent_factory: AgentFactory, csms201_factory: Any
) -> None:
    second = await csms201_factory()
    refusing = await csms201_factory(Quirks(http_status=503))
    closed = f"ws://127.0.0.1:{free_port()}/ocpp"  # nothing listens there
    data = tmp_path / "d"
    agent = await online(csms, agent_factory, settings=SETTINGS, data_dir=data)
    assert await set_profile(csms, 1, profile(second.url)) == ("Accepted", None)
    assert await set_profile(csms, 2, profile(refusing.url)) == ("Accepted", None)
    assert await set_profile(csms, 3, profile(closed)) == ("Accepted", None)
    assert await set_priority(csms, "3,2,1") == "RebootRequired"
    agent = await restart(agent, agent_factory, csms.url, data)
    await agent.accepted(within=20)
    # slot 3 (connection refused) and slot 2 (HTTP 503) each tried
    # NetworkProfileConnectionAttempts (3) times, then slot 1
    assert refusing.handshakes == 3
    assert second.calls("BootNotification")
    assert await active_profile(second) == "1"
    # once every listed profile fails, the configuration file's connection is left
    await second.stop()
    await until(lambda: agent.client.network is not None and agent.client.network.current() == 0)
    await agent.accepted(within=20)
    await until(lambda: agent.client.session is not None and agent.client.session.accepted.is_set())
    assert await active_profile(csms) == "0"


async def test_a_higher_security_profile_sticks(
    tmp_path: Path, csms: Csms201, agent_factory: AgentFactory, csms201_factory: Any
) -> None:
    """Moving to a profile of a higher security profile raises SecurityProfile: after that,
    no profile below it is stored or used (the configuration file's included)."""
    secured = await csms201_factory(Quirks(basic_auth=("CP1", KEY)))
    data = tmp_path / "d"
    agent = await online(csms, agent_factory, settings={"AuthorizationKey": KEY}, data_dir=data)
    assert await set_profile(csms, 1, profile(secured.url, security=1)) == ("Accepted", None)
    assert await set_priority(csms, "1") == "RebootRequired"
    agent = await restart(agent, agent_factory, csms.url, data)
    await agent.accepted()
    await until(lambda: agent.client.settings.get("SecurityProfile") == "1")
    res = await secured.call(
        call.GetVariables(
            get_variable_data=[
                {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "SecurityProfile"}}
            ]
        )
    )
    assert res.get_variable_result[0]["attribute_value"] == "1"
    assert secured.connections == 1  # raising it to what the connection uses: no reconnect
    open_csms = f"ws://127.0.0.1:{free_port()}/ocpp"
    assert await set_profile(secured, 2, profile(open_csms, security=0)) == (
        "Rejected",
        "NoDowngrade",
    )
    # the configuration file's connection (the last resort) is now tried with Basic auth too
    assert agent.client.target().security_profile == 1
