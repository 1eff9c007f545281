"""Authorization: local list (SendLocalList), cache, CSMS, offline rules; reservations."""

from __future__ import annotations

import time

from ocpp.v16 import call

from ncpa.events import AuthorizationDecided
from ncpa.store import WhitelistEntry
from tests.ocpp.conftest import Agent, AgentFactory, until
from tests.ocpp.csms import Csms, Quirks


def entry(tag: str, status: str = "Accepted", parent: str | None = None) -> dict[str, object]:
    info: dict[str, object] = {"status": status}
    if parent:
        info["parentIdTag"] = parent
    return {"idTag": tag, "idTagInfo": info}


async def online(csms: Csms, agent_factory: AgentFactory, **settings: str) -> Agent:
    agent = await agent_factory(csms.url, settings=settings or None)
    await agent.accepted()
    return agent


async def test_send_local_list_full_and_differential(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    assert (await csms.call(call.GetLocalListVersion())).list_version == 0
    full = call.SendLocalList(
        list_version=3,
        update_type="Full",
        local_authorization_list=[entry("A"), entry("B", "Blocked"), entry("C", parent="P")],
    )
    assert (await csms.call(full)).status == "Accepted"
    assert (await csms.call(call.GetLocalListVersion())).list_version == 3
    cards = {c.token: c for c in await agent.station.authorizer.cards()}
    assert cards["B"].status == "BLOCKED" and cards["C"].parent_id_tag == "P"
    stale = call.SendLocalList(
        list_version=3, update_type="Differential", local_authorization_list=[]
    )
    assert (await csms.call(stale)).status == "VersionMismatch"
    diff = call.SendLocalList(
        list_version=4,
        update_type="Differential",
        local_authorization_list=[{"idTag": "A"}, entry("D")],
    )
    assert (await csms.call(diff)).status == "Accepted"
    tokens = sorted(c.token for c in await agent.station.authorizer.cards())
    assert tokens == ["B", "C", "D"]
    await csms.call(call.ChangeConfiguration(key="LocalAuthListEnabled", value="false"))
    assert (await csms.call(call.GetLocalListVersion())).list_version == -1


async def test_authorized_from_the_local_list_without_asking(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    full = call.SendLocalList(
        list_version=1, update_type="Full", local_authorization_list=[entry("LOCAL1")]
    )
    await csms.call(full)
    result = await agent.station.authorizer.authorize("LOCAL1")
    assert (result.status, result.source) == ("Accepted", "whitelist")
    assert not csms.calls("Authorize")


async def test_authorized_by_the_csms_then_from_the_cache(
    csms_factory, agent_factory: AgentFactory
) -> None:
    csms = await csms_factory(
        Quirks(id_tag_status=lambda t: "Accepted" if t.startswith("OK") else "Blocked")
    )
    agent = await online(csms, agent_factory)
    decided: list[AuthorizationDecided] = []
    agent.station.bus.subscribe(decided.append, AuthorizationDecided)
    assert await agent.station.present_card("OK1") == "Accepted"
    assert decided[-1].source == "csms"
    assert (await agent.station.authorizer.authorize("NO1")).status == "Blocked"
    assert len(csms.calls("Authorize")) == 2
    # LocalPreAuthorize: a valid cache entry answers without a round trip
    result = await agent.station.authorizer.authorize("OK1")
    assert (result.status, result.source) == ("Accepted", "cache")
    assert len(csms.calls("Authorize")) == 2


async def test_offline_cache_and_unknown_ids(csms: Csms, agent_factory: AgentFactory) -> None:
    agent = await online(csms, agent_factory, LocalPreAuthorize="false")
    assert (await agent.station.authorizer.authorize("KNOWN")).source == "csms"
    await csms.stop()
    client = agent.client
    await until(lambda: not client.connected.is_set(), 5, "disconnected")
    result = await agent.station.authorizer.authorize("KNOWN")
    assert (result.status, result.source) == ("Accepted", "cache")
    assert (await agent.station.authorizer.authorize("STRANGER")).status == "Invalid"
    await client.settings.change("AllowOfflineTxForUnknownId", "true")
    result = await agent.station.authorizer.authorize("STRANGER")
    assert (result.status, result.source) == ("Accepted", "offline")
    await client.settings.change("LocalAuthorizeOffline", "false")
    assert (await agent.station.authorizer.authorize("KNOWN")).source != "cache"
    await client.settings.change("AllowOfflineTxForUnknownId", "false")
    await agent.station.authorizer.add_card(WhitelistEntry("LISTED", "ACCEPTED"))
    assert (await agent.station.authorizer.authorize("LISTED")).status == "Invalid"
    await client.settings.change("LocalAuthorizeOffline", "true")
    listed = await agent.station.authorizer.authorize("LISTED")
    assert (listed.status, listed.source) == ("Accepted", "whitelist")


async def test_expired_cache_entry_is_not_used(csms: Csms, agent_factory: AgentFactory) -> None:
    agent = await online(csms, agent_factory)
    await agent.client.cache.put(
        "OLD", {"status": "Accepted", "expiry_date": "2020-01-01T00:00:00"}
    )
    result = await agent.station.authorizer.authorize("OLD")
    assert result.source == "csms"  # the expired entry did not answer


async def test_start_transaction_answer_updates_cache_and_deauthorizes(
    csms_factory, agent_factory: AgentFactory
) -> None:
    csms = await csms_factory(
        Quirks(id_tag_status=lambda t: "Blocked" if t == "BAD" else "Accepted")
    )
    agent = await online(csms, agent_factory, AuthorizeRemoteTxRequests="false")
    await agent.plug(1)
    await csms.call(call.RemoteStartTransaction(id_tag="BAD", connector_id=1))
    stop = (await csms.wait_for("StopTransaction"))[0]
    assert stop.payload["reason"] == "DeAuthorized"
    cached = await agent.client.cache.get("BAD")
    assert cached is not None and cached.status == "Blocked"


async def test_reserve_now_and_cancel(csms: Csms, agent_factory: AgentFactory) -> None:
    agent = await online(csms, agent_factory)
    expiry = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 600))
    res = await csms.call(
        call.ReserveNow(
            connector_id=1, expiry_date=expiry, id_tag="R1", reservation_id=7, parent_id_tag="P"
        )
    )
    assert res.status == "Accepted"
    await csms.wait_for("StatusNotification", pred=lambda m: m.payload["status"] == "Reserved")
    again = await csms.call(
        call.ReserveNow(connector_id=1, expiry_date=expiry, id_tag="R2", reservation_id=8)
    )
    assert again.status == "Occupied"
    zero = await csms.call(
        call.ReserveNow(connector_id=0, expiry_date=expiry, id_tag="R2", reservation_id=9)
    )
    assert zero.status == "Rejected"
    assert (await csms.call(call.CancelReservation(reservation_id=7))).status == "Accepted"
    assert (await csms.call(call.CancelReservation(reservation_id=7))).status == "Rejected"
    assert agent.station.view(1).status == "Available"


async def test_reservation_used_by_its_card(csms: Csms, agent_factory: AgentFactory) -> None:
    agent = await online(csms, agent_factory)
    expiry = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 600))
    await csms.call(
        call.ReserveNow(connector_id=1, expiry_date=expiry, id_tag="R1", reservation_id=5)
    )
    await agent.plug(1)
    await agent.station.present_card("R1")
    start = (await csms.wait_for("StartTransaction"))[0]
    assert start.payload["reservationId"] == 5
