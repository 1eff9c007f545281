"""Id tokens of 2.0.1 length (up to 36): the core takes them; 1.6 cannot carry them."""

from __future__ import annotations

from ocpp.v201 import call

from ncpa.ocpp.v16.adapter import V16Adapter
from tests.ocpp.conftest import AgentFactory
from tests.ocpp.csms201 import Csms201
from tests.ocpp.v201.stories import online

LONG = "EMP-0123456789-ABCDEFGHIJ-987654"  # 32 characters


async def test_a_remote_start_with_a_36_character_token(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    await agent.plug(1)
    res = await csms.call(
        call.RequestStartTransaction(
            id_token={"id_token": LONG, "type": "Central"}, remote_start_id=5, evse_id=1
        )
    )
    assert res.status == "Accepted"
    started = (await csms.wait_for("TransactionEvent"))[0].payload
    assert started["idToken"]["idToken"] == LONG
    records = await agent.station.store.transactions()
    assert records[0].id_tag == LONG


def test_1_6_does_not_ask_the_csms_for_a_token_it_cannot_carry() -> None:
    adapter = V16Adapter()
    assert adapter.authorize(LONG) is None
    assert adapter.authorize("CARD-20-CHARACTERS!!") is not None
