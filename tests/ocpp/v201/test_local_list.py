"""D Local list over OCPP 2.0.1 against a real v201 CSMS: SendLocalList Full / Differential
with versionNumber (VersionMismatch, a Full update with an empty list clears it),
GetLocalListVersion, all-or-nothing updates; the same whitelist the local API manages."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from ocpp.v201 import call

from tests.api.conftest import Charger, start_api, write_keys
from tests.ocpp.conftest import Agent, AgentFactory
from tests.ocpp.csms201 import Csms201
from tests.ocpp.v201.res_stories import go_offline, set_variable, token
from tests.ocpp.v201.stories import online


def entry(tag: str, status: str = "Accepted", group: str | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {"status": status}
    if group:
        info["group_id_token"] = token(group, "Central")
    return {"id_token": token(tag), "id_token_info": info}


def send(version: int, update: str, entries: list[dict[str, Any]] | None) -> call.SendLocalList:
    return call.SendLocalList(
        version_number=version, update_type=update, local_authorization_list=entries
    )


async def version(csms: Csms201) -> int:
    return int((await csms.call(call.GetLocalListVersion())).version_number)


async def cards(agent: Agent) -> dict[str, Any]:
    return {c.token: c for c in await agent.station.authorizer.cards()}


async def test_full_and_differential_updates_with_versions(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    assert await version(csms) == 0  # no list yet
    full = [entry("A"), entry("B", "Blocked"), entry("C", group="FLEET")]
    assert (await csms.call(send(3, "Full", full))).status == "Accepted"
    assert await version(csms) == 3
    listed = await cards(agent)
    assert sorted(listed) == ["A", "B", "C"]
    assert listed["B"].status == "BLOCKED" and listed["C"].parent_id_tag == "FLEET"
    # a differential update must be newer than the list
    for stale in (3, 2):
        answer = await csms.call(send(stale, "Differential", [entry("X")]))
        assert answer.status == "VersionMismatch"
    assert sorted(await cards(agent)) == ["A", "B", "C"] and await version(csms) == 3
    # without idTokenInfo an entry is removed; with it, added or replaced
    diff = [{"id_token": token("A")}, entry("B"), entry("D")]
    assert (await csms.call(send(4, "Differential", diff))).status == "Accepted"
    listed = await cards(agent)
    assert sorted(listed) == ["B", "C", "D"] and listed["B"].status == "ACCEPTED"
    assert await version(csms) == 4
    # a Full update may carry any version, and one without a list (the schema has no
    # empty list) clears it
    assert (await csms.call(send(2, "Full", None))).status == "Accepted"
    assert await cards(agent) == {} and await version(csms) == 2


async def test_a_bad_entry_changes_nothing(csms: Csms201, agent_factory: AgentFactory) -> None:
    agent = await online(csms, agent_factory)
    assert (await csms.call(send(1, "Full", [entry("KEEP")]))).status == "Accepted"
    # an id token the core cannot take (not printable): the whole update fails
    bad = "BAD\u0007TAG"
    diff = [entry("NEW1"), entry(bad)]
    assert (await csms.call(send(2, "Differential", diff))).status == "Failed"
    assert sorted(await cards(agent)) == ["KEEP"] and await version(csms) == 1
    assert (await csms.call(send(3, "Full", [entry(bad)]))).status == "Failed"
    assert sorted(await cards(agent)) == ["KEEP"] and await version(csms) == 1
    # 2.0.1's 36 characters are taken
    long = "T" * 36
    assert (await csms.call(send(4, "Differential", [entry(long)]))).status == "Accepted"
    assert sorted(await cards(agent)) == ["KEEP", long]


async def test_listed_cards_decide_without_asking_and_a_refused_one_is_asked_online(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    listed = [entry("LISTED"), entry("BLOCKED", "Blocked")]
    assert (await csms.call(send(1, "Full", listed))).status == "Accepted"
    result = await agent.station.authorizer.authorize("LISTED")
    assert (result.status, result.source) == ("Accepted", "whitelist")
    assert csms.calls("Authorize") == []
    # C14.FR.03: a listed card the list refuses is asked for while online
    result = await agent.station.authorizer.authorize("BLOCKED")
    assert (result.status, result.source) == ("Accepted", "csms")
    assert len(csms.calls("Authorize")) == 1
    # plug first, then a listed card: the session starts from the list
    await agent.plug(1)
    assert await agent.station.present_card("LISTED") == "Accepted"
    await agent.status(1, "Charging")
    assert len(csms.calls("Authorize")) == 1


async def test_a_refused_listed_card_stays_refused_offline(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    assert (await csms.call(send(1, "Full", [entry("BLOCKED", "Blocked")]))).status == ("Accepted")
    # the CSMS accepted it online (so the cache says Accepted) ...
    assert (await agent.station.authorizer.authorize("BLOCKED")).status == "Accepted"
    await go_offline(csms, agent)
    # ... but offline the list's answer stands (C13.FR.04), not the cache's
    result = await agent.station.authorizer.authorize("BLOCKED")
    assert result.status == "Blocked" and result.source == "whitelist"


async def test_disabled_list_is_kept_but_decides_nothing(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    assert (await csms.call(send(1, "Full", [entry("LISTED")]))).status == "Accepted"
    assert await set_variable(csms, "LocalAuthListCtrlr", "Enabled", "false") == "Accepted"
    assert (await csms.call(send(2, "Full", [entry("OTHER")]))).status == "Failed"
    assert await version(csms) == 0
    assert (await agent.station.authorizer.authorize("LISTED")).source == "csms"
    assert sorted(await cards(agent)) == ["LISTED"]  # kept for when it is enabled again
    assert await set_variable(csms, "LocalAuthListCtrlr", "Enabled", "true") == "Accepted"
    assert await version(csms) == 1
    assert (await agent.station.authorizer.authorize("LISTED")).source == "whitelist"


async def test_the_csms_list_is_the_local_api_whitelist(
    csms: Csms201, agent_factory: AgentFactory, tmp_path: Path
) -> None:
    agent = await online(csms, agent_factory)
    st = agent.station
    api = await start_api(
        Charger(st.config, st.store, st.board, agent.plant, st), write_keys(tmp_path / "keys")
    )
    try:
        installer = await api.login("installer")
        assert (await csms.call(send(1, "Full", [entry("CSMS1")]))).status == "Accepted"
        status, body = await api.call("GET", "/whitelist/cards", installer)
        assert (status, body) == (200, [{"token": "CSMS1", "status": "ACCEPTED"}])
        diff = [entry("CSMS2", "Blocked")]
        assert (await csms.call(send(2, "Differential", diff))).status == "Accepted"
        status, body = await api.call("GET", "/whitelist/cards/CSMS2", installer)
        assert (status, body) == (200, {"token": "CSMS2", "status": "BLOCKED"})
        # the installer removes one: the CSMS's list is the same list
        status, _ = await api.call("DELETE", "/whitelist/cards/CSMS1", installer)
        assert status == 200
        assert sorted(await cards(agent)) == ["CSMS2"]
        await asyncio.sleep(0)
        assert (await agent.station.authorizer.authorize("CSMS1")).source == "csms"
    finally:
        await api.session.close()
        await api.server.stop()
