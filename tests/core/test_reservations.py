"""A reserved connector takes only its id tag, or a card of the same group (parent id tag),
however the start comes: a card before the plug, a card after it, a remote or local API
start (issue 13, item 1; OCPP 1.6 section 5.13 in neutral terms)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ncpa.events import TransactionStarted
from ncpa.store import WhitelistEntry
from tests.helpers import Env, running_station

SETTLE_S = 0.5  # long enough for a pending authorization to be taken, if it were


def charging(env: Env, cid: int = 1) -> bool:
    return env.status(cid) == "Charging" and env.plant.connectors[cid].contactor_cmd


async def cards(env: Env) -> None:
    for tag, parent in (("R1", "GROUP"), ("OTHER", None), ("CHILD", "GROUP"), ("STRANGER", "X")):
        await env.station.authorizer.add_card(WhitelistEntry(tag, "ACCEPTED", parent_id_tag=parent))


async def no_transaction_after_a_while(env: Env, cid: int = 1) -> None:
    await asyncio.sleep(SETTLE_S)
    assert env.station.view(cid).transaction is None
    assert not env.plant.connectors[cid].contactor_cmd


def started_with(env: Env) -> TransactionStarted:
    return [e for e in env.events if isinstance(e, TransactionStarted)][-1]


async def test_another_card_before_the_plug_does_not_take_the_reserved_connector(
    tmp_path: Path,
) -> None:
    async with running_station(tmp_path) as env:
        await cards(env)
        assert await env.station.reserve(7, 1, "R1", expiry_ts=9e9) == "Accepted"
        assert await env.station.present_card("OTHER") == "Accepted"
        env.plant.plug(1)
        await env.wait(lambda: env.conn().pilot == "B")
        await no_transaction_after_a_while(env)
        assert env.station.view(1).status in ("Reserved", "Preparing")
        assert await env.station.present_card("R1") == "Accepted"
        await env.wait(lambda: charging(env))
        assert started_with(env).id_tag == "R1" and started_with(env).reservation_id == 7


async def test_another_card_after_the_plug_does_not_take_the_reserved_connector(
    tmp_path: Path,
) -> None:
    async with running_station(tmp_path) as env:
        await cards(env)
        assert await env.station.reserve(7, 1, "R1", 9e9, parent_id_tag="GROUP") == "Accepted"
        env.plant.plug(1)
        await env.wait(lambda: env.conn().pilot == "B")
        await env.station.present_card("OTHER")
        await env.station.present_card("STRANGER")  # a parent, but not the reservation's
        await no_transaction_after_a_while(env)
        await env.station.present_card("CHILD")  # the reservation's group
        await env.wait(lambda: charging(env))
        assert started_with(env).id_tag == "CHILD" and started_with(env).reservation_id == 7


async def test_a_group_card_before_the_plug_uses_the_reservation(tmp_path: Path) -> None:
    async with running_station(tmp_path) as env:
        await cards(env)
        assert await env.station.reserve(8, 1, "SOMEONE", 9e9, parent_id_tag="GROUP") == "Accepted"
        await env.station.present_card("CHILD")
        env.plant.plug(1)
        await env.wait(lambda: charging(env))
        assert started_with(env).reservation_id == 8
        assert env.station.view(1).status == "Charging"
        assert await env.station.cancel_reservation(8) is False  # used up


async def test_a_card_pending_before_the_reservation_does_not_bypass_it(tmp_path: Path) -> None:
    async with running_station(tmp_path) as env:
        await cards(env)
        await env.station.present_card("OTHER")  # waits for a plug, any connector
        assert await env.station.reserve(9, 1, "R1", expiry_ts=9e9) == "Accepted"
        env.plant.plug(1)
        await env.wait(lambda: env.conn().pilot == "B")
        await no_transaction_after_a_while(env)


async def test_remote_and_local_api_starts_follow_the_reservation(tmp_path: Path) -> None:
    async with running_station(tmp_path) as env:
        await cards(env)
        assert await env.station.reserve(10, 1, "R1", 9e9, parent_id_tag="GROUP") == "Accepted"
        assert await env.station.remote_start("OTHER", 1) is False
        assert await env.station.remote_start("OTHER") is False  # no other connector
        assert await env.station.remote_start("STRANGER", 1) is False
        env.plant.plug(1)
        await env.wait(lambda: env.conn().pilot == "B")
        await no_transaction_after_a_while(env)
        # a parent known from the caller's authorization, or from the local list
        assert await env.station.remote_start("UNLISTED", 1, parent_id_tag="GROUP") is True
        await env.wait(lambda: charging(env))
        assert started_with(env).reservation_id == 10


async def test_remote_start_of_a_group_card_from_the_local_list(tmp_path: Path) -> None:
    async with running_station(tmp_path) as env:
        await cards(env)
        assert await env.station.reserve(11, 1, "R1", 9e9, parent_id_tag="GROUP") == "Accepted"
        assert await env.station.remote_start("CHILD") is True  # pending, for connector 1
        env.plant.plug(1)
        await env.wait(lambda: charging(env))
        assert started_with(env).id_tag == "CHILD" and started_with(env).reservation_id == 11


async def test_the_card_goes_to_a_free_connector_instead(tmp_path: Path) -> None:
    async with running_station(tmp_path, station={"connectors": 2}) as env:
        await cards(env)
        assert await env.station.reserve(12, 1, "R1", expiry_ts=9e9) == "Accepted"
        await env.station.present_card("OTHER")
        env.plant.plug(1)
        await env.wait(lambda: env.conn(1).pilot == "B")
        await no_transaction_after_a_while(env, 1)
        env.plant.plug(2)
        await env.wait(lambda: charging(env, 2))
        assert env.station.view(2).transaction.id_tag == "OTHER"  # type: ignore[union-attr]
        assert env.station.view(1).status in ("Reserved", "Preparing")
