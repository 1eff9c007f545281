"""OCPP 1.6: a reserved connector serves only its id tag or its group, whichever way a
session would start (a card before or after the plug, RemoteStartTransaction), against a
real 1.6 CSMS that accepts every card and names the group in idTagInfo.parentIdTag."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from ocpp.routing import on
from ocpp.v16 import call, call_result

from tests.ocpp.conftest import AgentFactory
from tests.ocpp.csms import Csms, CsmsSide

GROUP = "G"


class GroupCsmsSide(CsmsSide):
    """Accepts every card; the cards starting with "G-" belong to group G."""

    @on("Authorize")
    def on_authorize(self, id_tag: str, **_: Any) -> call_result.Authorize:
        info: dict[str, Any] = {"status": "Accepted"}
        if id_tag.startswith("G-"):
            info["parent_id_tag"] = GROUP
        return call_result.Authorize(id_tag_info=info)


class GroupCsms(Csms):
    side_class = GroupCsmsSide


@pytest.fixture
async def group_csms() -> AsyncIterator[Csms]:
    csms = await GroupCsms().start()
    yield csms  # stopped after the agent (asked for before agent_factory)
    await csms.stop()


async def test_only_the_reserved_group_may_use_the_connector(
    group_csms: Csms, agent_factory: AgentFactory
) -> None:
    csms = group_csms
    agent = await agent_factory(csms.url)
    await agent.accepted()
    expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 600))
    reserved = await csms.call(
        call.ReserveNow(
            connector_id=1,
            expiry_date=expiry,
            id_tag="R1",
            reservation_id=1,
            parent_id_tag=GROUP,
        )
    )
    assert reserved.status == "Accepted"
    await agent.status(1, "Reserved")

    def idle() -> bool:
        view = agent.station.view(1)
        return not csms.calls("StartTransaction") and view.status != "Charging"

    # a card the CSMS accepts, before the plug
    assert await agent.station.present_card("OTHER") == "Accepted"
    await asyncio.sleep(0.3)
    assert idle()
    await agent.plug(1)
    await asyncio.sleep(0.5)
    assert idle() and agent.station.view(1).transaction is None
    # the same card after the plug
    assert await agent.station.present_card("OTHER") == "Accepted"
    await asyncio.sleep(0.5)
    assert idle() and agent.station.view(1).transaction is None
    # a remote start for it
    remote = await csms.call(call.RemoteStartTransaction(id_tag="OTHER", connector_id=1))
    assert remote.status == "Rejected"
    await asyncio.sleep(0.3)
    assert idle()
    # a member of the group
    assert await agent.station.present_card("G-7") == "Accepted"
    start = (await csms.wait_for("StartTransaction"))[0].payload
    assert (start["idTag"], start["reservationId"], start["connectorId"]) == ("G-7", 1, 1)
    await agent.status(1, "Charging")
