"""Reset OnIdle while a transaction runs (B12): the idle EVSEs take no new session while
the reset waits (Unavailable), only for now: nothing of it is stored."""

from __future__ import annotations

import asyncio

from ocpp.v201 import call

from tests.ocpp.conftest import AgentFactory, until
from tests.ocpp.csms201 import Csms201
from tests.ocpp.v201.stories import online


async def test_idle_evses_are_unavailable_while_the_reset_waits(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory, connectors=2)
    resets: list[str] = []
    agent.client.on_reset = resets.append
    await agent.start_charging(1, "CARD1")
    assert (await csms.call(call.Reset(type="OnIdle"))).status == "Scheduled"
    await agent.status(2, "Unavailable")
    await csms.wait_for(
        "StatusNotification",
        pred=lambda m: m.payload["evseId"] == 2 and m.payload["connectorStatus"] == "Unavailable",
    )
    # an EV plugged at the idle EVSE meanwhile does not start a session there
    agent.plant.plug(2)
    await agent.station.remote_start("CARD2", 2)
    await asyncio.sleep(0.8)
    assert agent.station.view(2).transaction is None
    assert agent.station.view(1).transaction is not None  # the running one goes on
    assert resets == []
    # not stored: the EVSE is operative across the restart the reset makes
    assert await agent.station.store.get_setting("connector.2.operative") is not False
    agent.plant.unplug(1)
    await until(lambda: resets == ["OnIdle"], 10, "reset after the transaction")


async def test_an_evse_reset_puts_it_back_in_service(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory, connectors=2)
    await agent.start_charging(2, "CARD2")
    assert (await csms.call(call.Reset(type="OnIdle", evse_id=2))).status == "Scheduled"
    agent.plant.unplug(2)
    await agent.status(2, "Available", within=10)
    await agent.plug(2)
    await agent.station.remote_start("CARD3", 2)
    await agent.transaction(2)
