"""C Authorization over OCPP 2.0.1 against a real v201 CSMS: IdToken types, Authorize with
idTokenInfo (groupIdToken, cacheExpiryDateTime), the cache and its AuthCacheCtrlr rules,
LocalPreAuthorize, offline authorization (LocalAuthorizeOffline,
OfflineTxForUnknownIdEnabled), on the same core and cache as 1.6."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from ocpp.v201 import call

from tests.ocpp.conftest import AgentFactory
from tests.ocpp.csms import Csms, Quirks
from tests.ocpp.csms201 import Csms201
from tests.ocpp.v201.res_stories import (
    go_offline,
    iso,
    online_on_port,
    set_variable,
    token,
    wait_ended,
    wait_started,
)
from tests.ocpp.v201.stories import events, online


def authorized(csms: Csms) -> list[dict[str, str]]:
    return [m.payload["idToken"] for m in csms.calls("Authorize")]


async def test_card_first_session_authorized_as_an_iso14443_card(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    assert await agent.station.present_card("CAFE01") == "Accepted"
    assert authorized(csms) == [{"idToken": "CAFE01", "type": "ISO14443"}]
    await agent.plug(1)
    ev = await wait_started(csms)
    assert ev["idToken"] == {"idToken": "CAFE01", "type": "ISO14443"}
    assert ev["triggerReason"] == "Authorized"
    await agent.status(1, "Charging")
    # the same card ends it (an authorized stop, with the card's id token)
    assert await agent.station.present_card("CAFE01") == "Accepted"
    ended = await wait_ended(csms)
    assert ended["transactionInfo"]["stoppedReason"] == "Local"
    assert ended["idToken"] == {"idToken": "CAFE01", "type": "ISO14443"}


async def test_group_id_token_lets_another_card_of_the_group_stop_the_session(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    fleet = {"group_id_token": {"id_token": "FLEET", "type": "Central"}}
    csms.token_info = lambda t: fleet if t.startswith("F-") else {}
    agent = await online(csms, agent_factory)
    await agent.plug(1)
    assert await agent.station.present_card("F-1") == "Accepted"
    await wait_started(csms)
    await agent.status(1, "Charging")
    assert agent.station.view(1).transaction is not None
    # a card outside the group does not stop it
    assert await agent.station.present_card("NOTFLEET") == "Accepted"
    await asyncio.sleep(0.3)
    assert agent.station.view(1).transaction is not None
    assert await agent.station.present_card("F-2") == "Accepted"
    ended = await wait_ended(csms)
    assert ended["transactionInfo"]["stoppedReason"] == "Local"
    cached = await agent.client.cache.get("F-2")
    assert cached is not None and cached.parent_id_tag == "FLEET"


async def test_cache_answers_with_local_pre_authorize_and_other_statuses_are_asked_again(
    csms201_factory: Callable[..., Awaitable[Csms]], agent_factory: AgentFactory
) -> None:
    csms = await csms201_factory(
        Quirks(
            subprotocols=["ocpp2.0.1"],
            id_tag_status=lambda t: "Accepted" if t.startswith("OK") else "NotAtThisTime",
        )
    )
    agent = await online(csms, agent_factory)
    authorizer = agent.station.authorizer
    assert (await authorizer.authorize("OK1")).source == "csms"
    again = await authorizer.authorize("OK1")
    assert (again.status, again.source) == ("Accepted", "cache")
    assert len(csms.calls("Authorize")) == 1
    # a status other than Accepted (NotAtThisTime is Invalid to the core) is kept, but
    # asked again while online: the CSMS decides
    assert (await authorizer.authorize("NO1")).status == "Invalid"
    assert (await authorizer.authorize("NO1")).source == "csms"
    assert len(csms.calls("Authorize")) == 3
    cached = await agent.client.cache.get("NO1")
    assert cached is not None and cached.status == "Invalid"
    # LocalPreAuthorize false: even an Accepted entry waits for the CSMS
    assert await set_variable(csms, "AuthCtrlr", "LocalPreAuthorize", "false") == "Accepted"
    assert (await authorizer.authorize("OK1")).source == "csms"
    assert len(csms.calls("Authorize")) == 4


async def test_cache_lifetime_and_cache_expiry_date_time(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    past = iso(time.time() - 60)
    csms.token_info = lambda t: {"cache_expiry_date_time": past} if t == "SHORT" else {}
    agent = await online(csms, agent_factory)
    authorizer = agent.station.authorizer
    assert await set_variable(csms, "AuthCacheCtrlr", "LifeTime", "1") == "Accepted"
    assert (await authorizer.authorize("CARD")).source == "csms"
    assert (await authorizer.authorize("CARD")).source == "cache"
    await asyncio.sleep(1.2)  # LifeTime: 1 s since the entry was last used
    assert (await authorizer.authorize("CARD")).source == "csms"
    # an entry whose cacheExpiryDateTime has passed is not used, whatever LifeTime says
    assert await set_variable(csms, "AuthCacheCtrlr", "LifeTime", "3600") == "Accepted"
    assert (await authorizer.authorize("SHORT")).source == "csms"
    assert (await authorizer.authorize("SHORT")).source == "csms"
    cached = await agent.client.cache.get("SHORT")
    assert cached is not None and cached.effective_status(time.time()) == "Expired"
    # AuthCacheCtrlr.Enabled false: nothing cached, ClearCache Rejected
    assert await set_variable(csms, "AuthCacheCtrlr", "Enabled", "false") == "Accepted"
    assert (await csms.call(call.ClearCache())).status == "Rejected"
    assert (await authorizer.authorize("NEW")).source == "csms"
    assert await agent.client.cache.get("NEW") is None
    assert await set_variable(csms, "AuthCacheCtrlr", "Enabled", "true") == "Accepted"
    assert (await csms.call(call.ClearCache())).status == "Accepted"
    assert await agent.client.cache.get("CARD") is None


async def test_cache_lifetime_is_a_2_0_1_rule(
    csms_factory: Callable[..., Awaitable[Csms]], agent_factory: AgentFactory
) -> None:
    """The stored LifeTime (set under 2.0.1) does not apply on a 1.6 connection, whose
    cache entries last until their own expiryDate."""
    csms = await csms_factory()  # a 1.6 CSMS
    agent = await agent_factory(csms.url, version="1.6")
    await agent.accepted()
    assert await agent.client.settings.change("AuthCacheLifeTime", "1", version="2.0.1") == (
        "Accepted"
    )
    authorizer = agent.station.authorizer
    assert (await authorizer.authorize("CARD16")).source == "csms"
    await asyncio.sleep(1.2)
    assert (await authorizer.authorize("CARD16")).source == "cache"
    keys = await csms.call(call_v16_get_configuration())
    assert "AuthCacheLifeTime" not in {k["key"] for k in keys.configuration_key}


def call_v16_get_configuration() -> object:
    from ocpp.v16 import call as call16

    return call16.GetConfiguration()


async def test_offline_a_cached_card_charges_and_is_delivered_with_offline_true(
    csms_on_port: Callable[[int], Awaitable[Csms201]], agent_factory: AgentFactory
) -> None:
    port, first, agent = await online_on_port(csms_on_port, agent_factory)
    assert (await agent.station.authorizer.authorize("KNOWN")).source == "csms"
    await go_offline(first, agent)
    # plug first, then the card: LocalAuthorizeOffline lets the cache answer
    await agent.plug(1)
    assert await agent.station.present_card("KNOWN") == "Accepted"
    await agent.status(1, "Charging")
    # an unknown card is refused offline (OfflineTxForUnknownIdEnabled is false)
    assert await agent.station.present_card("STRANGER") == "Invalid"
    second = await csms_on_port(port)
    ev = await wait_started(second, within=15)
    assert ev["offline"] is True
    assert ev["idToken"] == {"idToken": "KNOWN", "type": "ISO14443"}
    assert authorized(second) == []  # nothing asked afterwards for the offline start


async def test_offline_unknown_id_then_the_csms_deauthorizes_it(
    csms_on_port: Callable[[int], Awaitable[Csms201]], agent_factory: AgentFactory
) -> None:
    port, first, agent = await online_on_port(csms_on_port, agent_factory)
    name = "OfflineTxForUnknownIdEnabled"
    assert await set_variable(first, "AuthCtrlr", name, "true") == "Accepted"
    await go_offline(first, agent)
    # card first, then the plug
    assert await agent.station.present_card("STRANGER") == "Accepted"
    await agent.plug(1)
    await agent.status(1, "Charging")
    second = await csms_on_port(port)
    second.quirks.id_tag_status = lambda t: "Invalid" if t == "STRANGER" else "Accepted"
    ended = await wait_ended(second, within=15)
    # StopTxOnInvalidId: the CSMS's Invalid for the Started event ends the transaction
    assert ended["transactionInfo"]["stoppedReason"] == "DeAuthorized"
    cached = await agent.client.cache.get("STRANGER")
    assert cached is not None and cached.status == "Invalid"


async def test_offline_without_local_authorize_offline_nobody_charges(
    csms_on_port: Callable[[int], Awaitable[Csms201]], agent_factory: AgentFactory
) -> None:
    _port, first, agent = await online_on_port(csms_on_port, agent_factory)
    assert (await agent.station.authorizer.authorize("KNOWN")).source == "csms"
    assert await set_variable(first, "AuthCtrlr", "LocalAuthorizeOffline", "false") == "Accepted"
    await go_offline(first, agent)
    assert await agent.station.present_card("KNOWN") == "Invalid"
    await agent.plug(1)
    await asyncio.sleep(0.5)
    assert agent.station.view(1).transaction is None


async def test_remote_start_central_token_is_neither_authorized_nor_cached(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)  # AuthorizeRemoteStart is true by default
    await agent.plug(1)
    res = await csms.call(
        call.RequestStartTransaction(id_token=token("APP1", "Central"), remote_start_id=3)
    )
    assert res.status == "Accepted"
    ev = await wait_started(csms)
    assert ev["idToken"] == {"idToken": "APP1", "type": "Central"}
    await agent.status(1, "Charging")
    assert authorized(csms) == []
    assert await agent.client.cache.get("APP1") is None
    # the same id presented later as a card is a card: asked for, as ISO14443
    await agent.unplug(1)
    await wait_ended(csms)
    assert (await agent.station.present_card("APP1")) == "Accepted"
    assert authorized(csms) == [{"idToken": "APP1", "type": "ISO14443"}]


async def test_plug_and_charge_uses_a_local_id_token(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory, charging={"authentication_mode": "PLUGNCHARGE"})
    await agent.plug(1)
    ev = await wait_started(csms)
    assert ev["idToken"] == {"idToken": agent.station.plugncharge_tag, "type": "Local"}


async def test_remote_started_token_types_are_bounded(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    """Remote starts that never begin (no EV) leave a bounded trace."""
    agent = await online(csms, agent_factory)
    for n in range(100):
        req = call.RequestStartTransaction(id_token=token(f"APP{n}", "Central"), remote_start_id=n)
        assert (await csms.call(req)).status == "Accepted"
    ctx = agent.client.ctx
    assert len(ctx.id_token_types) <= 64 and len(ctx.remote_start_ids) <= 64
    assert ctx.id_token_types["APP99"] == "Central" and ctx.remote_start_ids["APP99"] == 99


async def test_refused_after_the_start_may_take_max_energy_on_invalid_id(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    """E05, StopTxOnInvalidId false: the refused transaction goes on, but once it has taken
    MaxEnergyOnInvalidId Wh it gets no more current (SuspendedEVSE), and stays open."""
    agent = await online(csms, agent_factory)
    csms.quirks.id_tag_status = lambda t: "Invalid" if t == "APP9" else "Accepted"
    for component, name, value in (
        ("TxCtrlr", "StopTxOnInvalidId", "false"),
        ("TxCtrlr", "MaxEnergyOnInvalidId", "3"),
        ("AuthCtrlr", "AuthorizeRemoteStart", "false"),
    ):
        assert await set_variable(csms, component, name, value) == "Accepted", name
    await agent.plug(1)
    res = await csms.call(
        call.RequestStartTransaction(id_token=token("APP9", "Central"), remote_start_id=9)
    )
    assert res.status == "Accepted"
    await agent.status(1, "Charging")
    await agent.status(1, "SuspendedEVSE", within=20)
    view = agent.station.view(1)
    assert view.transaction is not None and view.limit.source == "invalid_id"
    assert view.last_reading is not None
    assert view.last_reading.energy_wh - view.transaction.meter_start_wh >= 3
    assert agent.plant.connectors[1].offered_a == 0
    assert not [e for e in events(csms) if e["eventType"] == "Ended"]
    await agent.unplug(1)
    await wait_ended(csms)
    assert "invalid_id" not in agent.station.limits.sources(1)


async def test_an_id_token_valid_at_some_evses_only_starts_there(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    """idTokenInfo.evseId: the card is accepted for EVSE 2 only; the EV on EVSE 1 gets
    nothing, the one plugged into EVSE 2 charges. Such an answer is not cached."""
    agent = await online(csms, agent_factory, connectors=2)
    csms.token_info = lambda t: {"evse_id": [2]} if t == "ONLY2" else {}
    await agent.plug(1)
    assert await agent.station.present_card("ONLY2") == "Accepted"
    await asyncio.sleep(0.5)
    assert agent.station.view(1).transaction is None
    await agent.plug(2)
    assert await agent.transaction(2) > 0
    assert agent.station.view(1).transaction is None
    assert await agent.client.cache.get("ONLY2") is None
    # a remote start naming EVSE 1 for it is not started there
    csms.quirks.id_tag_status = lambda _t: "Accepted"
    res = await csms.call(
        call.RequestStartTransaction(id_token=token("ONLY2"), remote_start_id=4, evse_id=1)
    )
    assert res.status == "Accepted"  # answered before the Authorize (AuthorizeRemoteStart)
    await asyncio.sleep(0.5)
    assert agent.station.view(1).transaction is None
