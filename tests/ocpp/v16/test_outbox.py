"""Transaction messages through outages, restarts and misbehaving CSMSs."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

from ncpa.ocpp.outbox import METER, START, STATUS, STOP, Outbox
from ncpa.store import Store
from tests.ocpp.conftest import Agent, AgentFactory
from tests.ocpp.csms import Csms, Quirks
from tests.ports import free_port


async def run_session(agent: Agent, samples: int = 3) -> None:
    st = agent.station
    await agent.plug(1)
    await st.remote_start("TAG", 1)
    t0 = time.time()
    for i in range(samples):
        agent.sample(1, 2000 + 500 * i, ts=t0 + 61 * (i + 1))
    await agent.unplug(1)
    await agent.client.recorder.flush()


async def drained(agent: Agent) -> None:
    for _ in range(200):
        if not await agent.client.outbox.depth():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"outbox not drained: {await agent.client.outbox.depth()}")


def assert_in_order_once(csms: Csms, samples: int) -> None:
    tx_msgs = [
        m
        for m in csms.received
        if m.action in ("StartTransaction", "MeterValues", "StopTransaction")
    ]
    actions = [m.action for m in tx_msgs]
    assert actions == ["StartTransaction"] + ["MeterValues"] * samples + ["StopTransaction"]
    assert all(n == 1 for n in Counter(m.unique_id for m in tx_msgs).values())
    assert all(m.payload["transactionId"] == 1001 for m in tx_msgs[1:])


async def test_csms_unreachable_for_a_whole_session(
    csms_factory, agent_factory: AgentFactory
) -> None:
    port = free_port()
    agent = await agent_factory(
        f"ws://127.0.0.1:{port}/ocpp", settings={"MeterValueSampleInterval": "60"}
    )
    await run_session(agent, samples=3)
    depth = await agent.client.outbox.depth()
    # the statuses of the session wait in the same ordered pipe
    assert depth.pop(STATUS) >= 1
    assert depth == {START: 1, METER: 3, STOP: 1}
    csms = await Csms(Quirks()).start(port)
    try:
        await csms.wait_for("StopTransaction")
        assert_in_order_once(csms, 3)
        await drained(agent)
        tx = (await agent.station.store.transactions())[0]
        assert tx.remote_id == "1001"
    finally:
        await csms.stop()


async def test_restart_with_queued_messages_delivers_once(
    tmp_path: Path, agent_factory: AgentFactory
) -> None:
    port = free_port()
    url = f"ws://127.0.0.1:{port}/ocpp"
    first = await agent_factory(
        url, data_dir=tmp_path / "a", settings={"MeterValueSampleInterval": "60"}
    )
    await run_session(first, samples=2)
    await first.client.stop()
    await first.station.store.close()
    csms = await Csms(Quirks()).start(port)
    try:
        await agent_factory(url, data_dir=tmp_path / "a")
        await csms.wait_for("StopTransaction")
        assert_in_order_once(csms, 2)
    finally:
        await csms.stop()


async def test_missed_events_are_reconciled_at_start(
    tmp_path: Path, csms: Csms, agent_factory: AgentFactory
) -> None:
    # the agent died after the core committed the transaction but before the outbox had it
    agent = await agent_factory(csms.url, start=False)
    store = agent.station.store
    await store.set_setting("ocpp.tx_watermark", 0)
    tx = await store.open_transaction(1, "LOST", 100.0, time.time() - 100)
    await store.close_transaction(tx.id, 900.0, time.time() - 10, "Local", None)
    await agent.client.start()
    stop = (await csms.wait_for("StopTransaction"))[0]
    start = csms.calls("StartTransaction")[0]
    assert start.payload["idTag"] == "LOST" and start.payload["meterStart"] == 100
    assert stop.payload["meterStop"] == 900 and stop.payload["reason"] == "Local"


async def test_csms_that_never_answers_does_not_block_the_queue(
    csms_factory, agent_factory: AgentFactory
) -> None:
    csms = await csms_factory(Quirks(never_answer={"StartTransaction"}))
    agent = await agent_factory(
        csms.url,
        settings={"TransactionMessageAttempts": "2", "TransactionMessageRetryInterval": "0"},
    )
    await agent.accepted()
    await run_session(agent, samples=0)
    starts = await csms.wait_for("StartTransaction", 2)
    assert starts[0].unique_id == starts[1].unique_id  # a retry is the same message
    # the Start was given up, so its Stop cannot be sent: the queue is empty, not stuck
    await drained(agent)
    assert not csms.calls("StopTransaction")
    # and the next transaction goes through
    csms.quirks.never_answer.clear()
    await run_session(agent, samples=0)
    await csms.wait_for("StopTransaction")


async def test_schema_invalid_call_result_is_a_failed_call(
    csms_factory, agent_factory: AgentFactory
) -> None:
    csms = await csms_factory(Quirks(invalid_answer={"StartTransaction"}))
    agent = await agent_factory(
        csms.url,
        settings={"TransactionMessageAttempts": "3", "TransactionMessageRetryInterval": "1"},
    )
    await agent.accepted()
    await run_session(agent, samples=0)
    await csms.wait_for("StartTransaction", 2)
    csms.quirks.invalid_answer.clear()
    stop = (await csms.wait_for("StopTransaction"))[0]
    starts = csms.calls("StartTransaction")
    assert len({m.unique_id for m in starts}) == 1
    assert stop.payload["transactionId"] == 1001


async def test_call_error_is_retried_then_delivered(
    csms_factory, agent_factory: AgentFactory
) -> None:
    csms = await csms_factory(Quirks(error_answer={"StopTransaction"}))
    agent = await agent_factory(
        csms.url,
        settings={"TransactionMessageAttempts": "5", "TransactionMessageRetryInterval": "0"},
    )
    await agent.accepted()
    await run_session(agent, samples=0)
    await csms.wait_for("StopTransaction", 2)
    csms.quirks.error_answer.clear()
    await csms.wait_for("StopTransaction", 3)
    await drained(agent)


async def test_connection_dropped_mid_call(csms_factory, agent_factory: AgentFactory) -> None:
    csms = await csms_factory(Quirks(drop_once={"StopTransaction"}))
    agent = await agent_factory(csms.url)
    await agent.accepted()
    await run_session(agent, samples=1)
    stops = await csms.wait_for("StopTransaction", 2)
    assert stops[0].unique_id == stops[1].unique_id
    assert csms.connections == 2
    await drained(agent)


async def test_stop_waits_for_the_csms_transaction_id(
    csms_factory, agent_factory: AgentFactory
) -> None:
    csms = await csms_factory(Quirks(never_answer={"StartTransaction"}))
    agent = await agent_factory(csms.url, settings={"TransactionMessageRetryInterval": "0"})
    await agent.accepted()
    await run_session(agent, samples=1)
    await csms.wait_for("StartTransaction")
    assert not csms.calls("StopTransaction")
    csms.quirks.never_answer.clear()
    stop = (await csms.wait_for("StopTransaction"))[0]
    assert stop.payload["transactionId"] == 1001


async def test_capacity_thins_meter_values_never_transactions(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    try:
        outbox = Outbox(store, max_rows=50)
        await outbox.open()
        await outbox.enqueue(START, 1, {"n": 0})
        for i in range(200):
            await outbox.enqueue(METER, 1, {"n": i})
            if i == 100:
                await outbox.enqueue(STOP, 1, {"n": "stop"})
                await outbox.enqueue(START, 2, {"n": "start2"})
        depth = await outbox.depth()
        assert depth[START] == 2 and depth[STOP] == 1
        assert depth[METER] <= 50
        # a month offline at 60 s fits the default capacity
        assert Outbox(store).max_rows > 30 * 24 * 60 * 2
    finally:
        await store.close()


async def test_low_disk_space_thins_meter_values(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    try:
        outbox = Outbox(store)
        await outbox.open()
        outbox.free_bytes = lambda: 1024  # the disk is nearly full
        await outbox.enqueue(START, 1, {})
        for i in range(600):
            await outbox.enqueue(METER, 1, {"n": i})
        await outbox.enqueue(STOP, 1, {})
        depth = await outbox.depth()
        assert depth[START] == 1 and depth[STOP] == 1
        assert depth[METER] < 400
    finally:
        await store.close()
