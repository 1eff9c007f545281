"""2.0.1 TransactionEvents through power cuts: kill -9 of the real daemon (`ncpa run --sim
--ocpp-version 2.0.1`) mid-transaction and right after a TransactionEvent answer."""

from __future__ import annotations

import asyncio
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from ocpp.v201 import call

from tests.ocpp.csms import Msg, Quirks
from tests.ocpp.csms201 import Csms201
from tests.ocpp.daemon import agent_view, free_port, kill9, sim, spawn, wait_view


def assert_numbering(msgs: list[Msg]) -> None:
    """One seqNo per message id (a resend keeps both), none used by two messages, none
    skipped: the CSMS can tell a resend from a new event and misses none."""
    first: dict[str, int] = {}
    for m in msgs:
        assert first.setdefault(m.unique_id, m.payload["seqNo"]) == m.payload["seqNo"], m
    assert sorted(first.values()) == list(range(len(first))), first


def ended(msgs: list[Msg]) -> list[Msg]:
    return [m for m in msgs if m.payload["eventType"] == "Ended"]


async def test_power_cut_mid_transaction_leaves_one_ended_power_loss(tmp_path: Path) -> None:
    csms_port, sim_port = free_port(), free_port()
    csms = await Csms201(Quirks(subprotocols=["ocpp2.0.1"])).start(csms_port)
    proc = spawn(tmp_path, csms_port, sim_port, version="2.0.1")
    try:
        async with aiohttp.ClientSession() as http:
            await wait_view(http, sim_port, lambda v: True, "up")
            await sim(http, sim_port, "POST", "/sim/connectors/1/plug")
            await csms.wait_for(
                "TransactionEvent", pred=lambda m: m.payload["eventType"] == "Started", within=20
            )
            await wait_view(http, sim_port, lambda v: v["connectors"][0]["transaction"], "tx")
            await asyncio.sleep(0.5)  # charging, its events on their way
            await kill9(proc)
            proc = spawn(tmp_path, csms_port, sim_port, version="2.0.1")
            await csms.wait_for("TransactionEvent", pred=lambda m: bool(ended([m])), within=30)
            await asyncio.sleep(0.5)  # a second Ended would come now
        evs = csms.calls("TransactionEvent")
        txs = {m.payload["transactionInfo"]["transactionId"] for m in evs}
        assert len(txs) == 1, txs
        [end] = {m.unique_id: m for m in ended(evs)}.values()
        assert end.payload["transactionInfo"]["stoppedReason"] == "PowerLoss"
        assert end.payload["meterValue"][0]["sampledValue"][0]["context"] == "Transaction.End"
        assert_numbering(evs)
        assert evs[0].payload["eventType"] == "Started"
        # kill -9 within one kernel boot is a crash to the agent (a real power cut changes
        # the kernel's boot id: PowerUp; ncpa/ocpp/boot_reason.py)
        assert csms.calls("BootNotification")[-1].payload["reason"] == "ApplicationReset"
    finally:
        await kill9(proc)
        await csms.stop()


async def test_kill_right_after_a_transaction_event_answer(tmp_path: Path) -> None:
    """The kill lands within ms of the CSMS's answer to the Started event: after the restart
    the event is either known delivered or sent again with the same message id and seqNo."""
    for delay_ms in (0, 2, 10):
        data = tmp_path / f"run{delay_ms}"
        data.mkdir()
        csms_port, sim_port = free_port(), free_port()
        procs: list[subprocess.Popen[bytes]] = []

        async def kill_after_started(
            _side: Any, msg: Msg, delay: float = delay_ms / 1000, procs: list[Any] = procs
        ) -> None:
            started = msg.action == "TransactionEvent" and msg.payload["eventType"] == "Started"
            if started and len(procs) == 1:
                await asyncio.sleep(delay)
                await kill9(procs[0])

        quirks = Quirks(subprotocols=["ocpp2.0.1"], after=kill_after_started)
        csms = await Csms201(quirks).start(csms_port)
        try:
            procs.append(spawn(data, csms_port, sim_port, version="2.0.1"))
            async with aiohttp.ClientSession() as http:
                await wait_view(http, sim_port, lambda v: True, "up")
                await sim(http, sim_port, "POST", "/sim/connectors/1/plug")
                await asyncio.to_thread(procs[0].wait, 20)
                procs.append(spawn(data, csms_port, sim_port, version="2.0.1"))
                for _ in range(300):
                    if await agent_view(http, sim_port) is not None:
                        break
                    await asyncio.sleep(0.05)
                await csms.wait_for("TransactionEvent", pred=lambda m: bool(ended([m])), within=30)
            evs = csms.calls("TransactionEvent")
            starts = [m for m in evs if m.payload["eventType"] == "Started"]
            assert len({m.unique_id for m in starts}) == 1, delay_ms
            assert max(Counter(m.unique_id for m in starts).values()) <= 2
            assert_numbering(evs)
            assert len({m.unique_id for m in ended(evs)}) == 1
        finally:
            for p in procs:
                await kill9(p)
            await csms.stop()


async def test_power_cut_after_a_stop_that_left_the_transaction_open(tmp_path: Path) -> None:
    """TxStopPoint EVConnected: a RequestStopTransaction deauthorizes (Updated RemoteStop),
    the EV stays; a kill -9 then ends the transaction once, with the stop's reason (on
    disk before the Updated was queued), and no seqNo is reused."""
    csms_port, sim_port = free_port(), free_port()
    csms = await Csms201(Quirks(subprotocols=["ocpp2.0.1"])).start(csms_port)
    proc = spawn(tmp_path, csms_port, sim_port, version="2.0.1")
    try:
        async with aiohttp.ClientSession() as http:
            await wait_view(http, sim_port, lambda v: True, "up")
            await csms.wait_for("BootNotification", within=20)
            res = await csms.call(
                call.SetVariables(
                    set_variable_data=[
                        {
                            "component": {"name": "TxCtrlr"},
                            "variable": {"name": "TxStopPoint"},
                            "attribute_value": "EVConnected",
                        }
                    ]
                )
            )
            assert res.set_variable_result[0]["attribute_status"] == "Accepted"
            await sim(http, sim_port, "POST", "/sim/connectors/1/plug")  # plug and charge
            [started] = await csms.wait_for(
                "TransactionEvent", pred=lambda m: m.payload["eventType"] == "Started", within=20
            )
            tx = started.payload["transactionInfo"]["transactionId"]
            res = await csms.call(call.RequestStopTransaction(transaction_id=tx))
            assert res.status == "Accepted"
            await csms.wait_for(
                "TransactionEvent",
                pred=lambda m: m.payload["triggerReason"] == "RemoteStop",
                within=20,
            )
            await kill9(proc)
            proc = spawn(tmp_path, csms_port, sim_port, version="2.0.1")
            await csms.wait_for("TransactionEvent", pred=lambda m: bool(ended([m])), within=30)
            await asyncio.sleep(0.5)  # a second Ended would come now
        evs = csms.calls("TransactionEvent")
        assert {m.payload["transactionInfo"]["transactionId"] for m in evs} == {tx}
        [end] = {m.unique_id: m for m in ended(evs)}.values()
        assert end.payload["transactionInfo"]["stoppedReason"] == "Remote"
        assert_numbering(evs)
    finally:
        await kill9(proc)
        await csms.stop()
