"""A switch of OCPP version between two restarts of the real daemon: settings and queued
transaction rows are neutral, so what 1.6 queued 2.0.1 sends (and the other way where it can).

Rule (docs/ocpp.md, "Changing the version"): a row is sent in the version of the connection
that takes it. A transaction made wholly offline under 1.6 goes out under 2.0.1 as Started /
Updated / Ended with our own transactionId and seqNo from 0. Under 1.6 the messages of a
transaction whose Start went out under 2.0.1 cannot be sent (a 1.6 CSMS has no integer id
for it): they are discarded with an error in the log.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from ncpa.ocpp.outbox import STOP, Item
from ncpa.ocpp.v16.adapter import V16Adapter
from tests.ocpp.conftest import until
from tests.ocpp.csms import Csms, Quirks
from tests.ocpp.csms201 import Csms201
from tests.ocpp.daemon import (
    CONFIG,
    free_port,
    kill9,
    outbox_rows,
    sim,
    spawn,
    terminate,
    wait_view,
)

QUICK_STOP = CONFIG + "[ocpp]\nshutdown_drain = 0.5\n"


async def test_switch_from_1_6_to_2_0_1_keeps_settings_and_queued_transaction(
    tmp_path: Path,
) -> None:
    csms_port, sim_port = free_port(), free_port()
    csms16 = await Csms(Quirks()).start(csms_port)
    proc = spawn(tmp_path, csms_port, sim_port, version="1.6", config=QUICK_STOP)
    try:
        await csms16.wait_for("BootNotification", within=20)
        res = await csms16.call(
            call16.ChangeConfiguration(key="MeterValueSampleInterval", value="17")
        )
        assert res.status == "Accepted"
        await csms16.stop()  # offline from here: the whole transaction waits in the queue
        async with aiohttp.ClientSession() as http:
            await sim(http, sim_port, "POST", "/sim/connectors/1/plug")
            await wait_view(http, sim_port, lambda v: v["connectors"][0]["transaction"], "tx")
            await sim(http, sim_port, "POST", "/sim/connectors/1/unplug")
            await wait_view(
                http,
                sim_port,
                lambda v: v["recent_transactions"] and v["recent_transactions"][0]["stop_ts"],
                "stopped",
            )
        await until(lambda: STOP in outbox_rows(tmp_path), 10, "the Stop queued")
        await terminate(proc)
        assert next(k for k in outbox_rows(tmp_path) if k != "status") == "start"

        csms201 = await Csms201(Quirks(subprotocols=["ocpp2.0.1"])).start(csms_port)
        proc = spawn(tmp_path, csms_port, sim_port, version="2.0.1", config=QUICK_STOP)
        try:
            await csms201.wait_for(
                "TransactionEvent", pred=lambda m: m.payload["eventType"] == "Ended", within=30
            )
            evs = [m.payload for m in csms201.calls("TransactionEvent")]
            assert next(e["eventType"] for e in evs) == "Started"
            assert [e["eventType"] for e in evs].count("Ended") == 1
            assert [e["seqNo"] for e in evs] == list(range(len(evs)))
            assert all(e["offline"] is True for e in evs)
            assert evs[-1]["transactionInfo"]["stoppedReason"] == "EVDisconnected"
            assert len({e["transactionInfo"]["transactionId"] for e in evs}) == 1
            # the value the 1.6 CSMS set is the 2.0.1 variable's value
            res = await csms201.call(
                call201.GetVariables(
                    get_variable_data=[
                        {
                            "component": {"name": "SampledDataCtrlr"},
                            "variable": {"name": "TxUpdatedInterval"},
                        }
                    ]
                )
            )
            [result] = res.get_variable_result
            assert result["attribute_status"] == "Accepted"
            assert result["attribute_value"] == "17"
            await until(lambda: STOP not in outbox_rows(tmp_path), 10, "the queue emptied")
        finally:
            await csms201.stop()
    finally:
        await kill9(proc)
        await csms16.stop()


async def test_start_delivered_under_1_6_ends_under_2_0_1(tmp_path: Path) -> None:
    """The Start went out under 1.6, the unplugging happened offline, the daemon comes
    back under 2.0.1: one Ended with our own transactionId (2.0.1 cannot name the 1.6
    CSMS's integer id), the first event of it that CSMS sees, so seqNo 0."""
    csms_port, sim_port = free_port(), free_port()
    csms16 = await Csms(Quirks()).start(csms_port)
    proc = spawn(tmp_path, csms_port, sim_port, version="1.6", config=QUICK_STOP)
    try:
        await csms16.wait_for("BootNotification", within=20)
        async with aiohttp.ClientSession() as http:
            await sim(http, sim_port, "POST", "/sim/connectors/1/plug")
            await csms16.wait_for("StartTransaction", within=20)
            await until(lambda: "start" not in outbox_rows(tmp_path), 10, "the Start answered")
            await csms16.stop()  # offline from here
            await sim(http, sim_port, "POST", "/sim/connectors/1/unplug")
            await until(lambda: STOP in outbox_rows(tmp_path), 10, "the Stop queued")
        await terminate(proc)

        csms201 = await Csms201(Quirks(subprotocols=["ocpp2.0.1"])).start(csms_port)
        proc = spawn(tmp_path, csms_port, sim_port, version="2.0.1", config=QUICK_STOP)
        try:
            [ended] = await csms201.wait_for(
                "TransactionEvent", pred=lambda m: m.payload["eventType"] == "Ended", within=30
            )
            evs = [m.payload for m in csms201.calls("TransactionEvent")]
            assert [e["eventType"] for e in evs] == ["Ended"]
            info = ended.payload["transactionInfo"]
            assert info["stoppedReason"] == "EVDisconnected"
            assert not info["transactionId"].isdigit()  # ours, not the 1.6 CSMS's
            assert ended.payload["seqNo"] == 0
            assert ended.payload["offline"] is True
            await until(lambda: STOP not in outbox_rows(tmp_path), 10, "the queue emptied")
        finally:
            await csms201.stop()
    finally:
        await kill9(proc)
        await csms16.stop()


def test_1_6_cannot_send_a_transaction_started_under_2_0_1() -> None:
    """Its CSMS id is our own text id: 1.6 discards the row rather than crash or guess."""
    stop = Item(
        seq=1,
        unique_id="u",
        kind=STOP,
        tx_id=3,
        payload={"meter_stop": 10, "timestamp": "2026-12-01T00:00:00Z", "reason": "Local"},
        attempts=0,
        next_try_ts=0,
        remote_id="a1b2c3d4-3",
    )
    assert V16Adapter().outbox_call(None, stop) is None  # type: ignore[arg-type]
    kept = Item(**{**stop.__dict__, "remote_id": "1001"})
    assert V16Adapter().outbox_call(None, kept).transaction_id == 1001  # type: ignore[arg-type]
