"""TransactionEvents a CSMS never acknowledges (2.0.1 queue rule): retried, then parked
(kept, skipped so later messages flow), retried at the next connection; bounded."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from ncpa.ocpp.outbox import METER, START, STOP, Outbox
from ncpa.store import Store
from tests.ocpp.conftest import Agent, AgentFactory, until
from tests.ocpp.csms import Quirks
from tests.ocpp.csms201 import Csms201
from tests.ocpp.v201.stories import assert_sequence, events, online

FAST_RETRY = {"TransactionMessageAttempts": "2", "TransactionMessageRetryInterval": "0"}


async def charging_refused(factory: Any, agent_factory: AgentFactory) -> tuple[Csms201, Agent]:
    """A transaction running against a CSMS that refuses every TransactionEvent."""
    csms = await factory(Quirks(subprotocols=["ocpp2.0.1"], invalid_answer={"TransactionEvent"}))
    agent = await online(csms, agent_factory, settings=FAST_RETRY)
    await agent.start_charging(1, "CARD1")
    return csms, agent


async def test_unacknowledged_events_are_parked_then_delivered_in_order(
    csms201_factory: object, agent_factory: AgentFactory
) -> None:
    csms, agent = await charging_refused(csms201_factory, agent_factory)
    await agent.status(1, "Charging")
    await agent.unplug(1)
    # the Started is tried twice with one message id, then kept; the later events of its
    # transaction are kept behind it unsent (in order); the statuses still flow
    await csms.wait_for(
        "StatusNotification", pred=lambda m: m.payload["connectorStatus"] == "Available", count=2
    )
    outbox = agent.client.outbox

    async def all_parked() -> bool:
        return not await outbox.live(START) and not await outbox.live(STOP)

    for _ in range(200):
        if await all_parked():
            break
        await asyncio.sleep(0.05)
    assert await all_parked()
    tried = csms.calls("TransactionEvent")
    assert {m.payload["eventType"] for m in tried} == {"Started"}
    assert len({m.unique_id for m in tried}) == 1 and len(tried) >= 2
    depth = await outbox.depth()
    assert depth.get(START) == 1 and depth.get(STOP) == 1  # kept, not dropped
    parked = await outbox.parked()
    assert parked >= 3  # Started, ChargingStateChanged, Ended at least

    # the CSMS takes them again: at the next connection the oldest goes first, then all
    csms.quirks.invalid_answer.clear()
    sent_before = len(csms.calls("TransactionEvent"))
    await csms.drop()
    await until(lambda: csms.connections >= 2, 10, "reconnected")
    await until(lambda: len(csms.calls("TransactionEvent")) >= sent_before + parked, 15)
    await outbox.drained(STOP, 10)
    assert await outbox.parked() == 0
    again = list({m.unique_id: m for m in csms.calls("TransactionEvent")[sent_before:]}.values())
    assert again[0].unique_id == tried[0].unique_id  # the same message, the same seqNo 0
    assert_sequence([m.payload for m in again])  # in order, seqNo 0.. without a gap


async def test_parked_rows_are_bounded(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    try:
        outbox = Outbox(store, max_rows=1000, max_parked=4)
        await outbox.open()
        for n in range(6):
            await outbox.enqueue(METER, 1, {"connector_id": 1, "meter_value": [], "n": n})
        for _ in range(6):
            item = await outbox.head()
            assert item is not None
            assert await outbox.failed(item, 1, 0, park=True)
        assert await outbox.parked() == 4
        assert await outbox.head() is None  # parked rows wait for a new connection
        # the oldest went; the four newest stay, with their own seqNo each
        assert await outbox.retry_parked()
        probe = await outbox.head()
        assert probe is not None and probe.payload["n"] == 2 and probe.seq_no == 2
        await outbox.delivered(probe, seq_no=probe.seq_no + 1)
        rest = []
        while (item := await outbox.head()) is not None:
            rest.append((item.payload["n"], item.seq_no))
            await outbox.delivered(item, seq_no=item.seq_no + 1)
        assert rest == [(3, 3), (4, 4), (5, 5)]
        # the next event numbers on after the kept ones: none reused
        await outbox.enqueue(METER, 1, {"connector_id": 1, "meter_value": [], "n": 6})
        item = await outbox.head()
        assert item is not None and item.seq_no == 6
    finally:
        await store.close()


async def test_parked_events_get_a_new_try_on_a_stable_line(
    csms201_factory: object, agent_factory: AgentFactory
) -> None:
    csms, agent = await charging_refused(csms201_factory, agent_factory)
    outbox = agent.client.outbox
    await until(lambda: bool(csms.calls("TransactionEvent")), 10, "Started tried")
    for _ in range(100):
        if await outbox.parked():
            break
        await asyncio.sleep(0.05)
    assert await outbox.parked()
    csms.quirks.invalid_answer.clear()  # the CSMS is well again; the connection never broke
    await agent.unplug(1)
    await until(lambda: any(e["eventType"] == "Ended" for e in events(csms)), 10, "Ended sent")
    for _ in range(300):  # the idle pump tries the parked ones again (5 s here)
        if not await outbox.parked() and not (await outbox.depth()).get(STOP):
            break
        await asyncio.sleep(0.05)
    assert await outbox.parked() == 0 and csms.connections == 1
    delivered = {m.unique_id: m.payload for m in csms.calls("TransactionEvent")}
    assert_sequence(sorted(delivered.values(), key=lambda e: e["seqNo"]))


async def test_parked_rows_survive_a_restart_and_keep_their_order(tmp_path: Path) -> None:
    """kill -9 with rows parked: the next process finds them parked, parks the newer rows
    of their transaction behind them, and releases all in order after a successful probe."""
    store = await Store.open(tmp_path)
    outbox = Outbox(store)
    await outbox.open()
    await outbox.enqueue(START, 1, {"connector_id": 1, "id_tag": "A", "n": 0})
    head = await outbox.head()
    assert head is not None and await outbox.failed(head, 1, 0, park=True)
    await store.close()  # the process ends; SQLite keeps what was committed

    store = await Store.open(tmp_path)
    try:
        outbox = Outbox(store)
        await outbox.open()
        assert await outbox.parked() == 1
        await outbox.enqueue(STOP, 1, {"connector_id": 1, "n": 1})
        stop = await outbox.head()
        assert stop is not None and stop.kind == STOP
        assert await outbox.park_behind(stop)  # behind its parked Start, unsent
        assert await outbox.head() is None
        assert await outbox.retry_parked()
        probe = await outbox.head()
        assert probe is not None and probe.kind == START and probe.seq_no == 0
        await outbox.delivered(probe, seq_no=1)
        after = await outbox.head()
        assert after is not None and after.kind == STOP and after.seq_no == 1
        assert not await outbox.park_behind(after)  # nothing parked before it any more
    finally:
        await store.close()
