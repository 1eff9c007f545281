"""Benchmark: replay rate of queued transaction messages against a loopback CSMS.

    python -m bench.ocpp_replay [--messages 2000] [--repeat 3] [--version 1.6|2.0.1|both]

A real ChargingStation on the simulator board and the real OcppClient, with the
CSMS down while a transaction of N messages (StartTransaction, N-2 MeterValues,
StopTransaction) is queued in the outbox; then a loopback CSMS (the ocpp
library's central-system side) comes up and the time to drain the outbox is
measured. OCPP allows one call in flight, so the ceiling is 1 / round-trip time:
the RTT is measured with Heartbeat calls on the same connection. Prints both, for 1.6
(StartTransaction / MeterValues / StopTransaction) and 2.0.1 (TransactionEvent Started /
Updated / Ended, each delivery also advancing the transaction's seqNo in SQLite).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import socket
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ncpa.charging.station import ChargingStation
from ncpa.config import ChargingConfig, Config, OcppConfig, StationConfig
from ncpa.events import EventBus
from ncpa.ocpp.client import OcppClient
from ncpa.ocpp.outbox import METER, START, STOP
from ncpa.ocpp.timeutil import fmt_time
from ncpa.store import Store
from simulator.board import build_board
from tests.ocpp.csms import Csms, Quirks
from tests.ocpp.csms201 import Csms201


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _meter(i: int) -> dict[str, Any]:
    return {
        "connector_id": 1,
        "meter_value": [
            {
                "timestamp": fmt_time(time.time()),
                "sampled_value": [
                    {
                        "value": str(1000 + i),
                        "measurand": "Energy.Active.Import.Register",
                        "unit": "Wh",
                        "context": "Sample.Periodic",
                    }
                ],
            }
        ],
    }


async def one_run(messages: int, data_dir: Path, version: str = "1.6") -> tuple[float, float]:
    """(messages per second while draining, median heartbeat RTT in seconds)."""
    port = _free_port()
    url = f"ws://127.0.0.1:{port}/ocpp"
    cfg = Config(
        station=StationConfig(id="BENCH"),
        charging=ChargingConfig(meter_interval=1.0),
        ocpp=OcppConfig(csms_url=url, version=version),
        data_dir=data_dir,
        simulated=True,
        raw={"ocpp": {"version": version, "backoff_min": 0.05, "backoff_max": 0.1}},
    )
    store = await Store.open(data_dir)
    board, _plant = build_board(cfg)
    station = ChargingStation(replace(cfg), store, board, EventBus())
    client = OcppClient(station, cfg)
    await station.start()
    await client.start()
    # the transaction the queued messages belong to (stopped, never seen by the CSMS)
    tx = await store.open_transaction(1, "BENCH", 1000.0, time.time())
    await store.close_transaction(tx.id, 2000.0, time.time(), "Local")
    start = {"connector_id": 1, "id_tag": "BENCH", "meter_start": 1000, "timestamp": _now()}
    await client.outbox.enqueue(START, tx.id, start)
    for i in range(messages - 2):
        await client.outbox.enqueue(METER, tx.id, _meter(i))
    stop = {"meter_stop": 2000, "timestamp": _now(), "reason": "Local"}
    await client.outbox.enqueue(STOP, tx.id, stop)
    # the test suite's loopback CSMS (the ocpp library's central-system side)
    if version == "1.6":
        csms: Csms = await Csms(Quirks(boot_interval=3600)).start(port)
    else:
        quirks = Quirks(boot_interval=3600, subprotocols=["ocpp2.0.1"])
        csms = await Csms201(quirks).start(port)
    try:
        await client.connected.wait()
        t0 = time.perf_counter()
        for _ in itertools.count():
            if not await client.outbox.depth():
                break
            await asyncio.sleep(0.005)
        rate = messages / (time.perf_counter() - t0)
        rtts = []
        for _ in range(200):
            t = time.perf_counter()
            adapter = client.adapter
            assert adapter is not None
            await client.send(adapter.heartbeat())
            rtts.append(time.perf_counter() - t)
        return rate, statistics.median(rtts)
    finally:
        await client.stop()
        await station.stop()
        await board.close()
        await store.close()
        await csms.stop()


async def run(messages: int, runs: int, version: str = "1.6") -> None:
    rates, rtts = [], []
    for n in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            rate, rtt = await one_run(messages, Path(tmp), version)
        rates.append(rate)
        rtts.append(rtt)
        print(f"run {n + 1}: {rate:8.0f} msg/s replayed   RTT {rtt * 1000:6.2f} ms "
              f"(1/RTT = {1 / rtt:8.0f} msg/s)")  # fmt: skip
    rate, rtt = statistics.median(rates), statistics.median(rtts)
    print(f"ocpp {version} replay: {messages} queued messages, median of {runs} runs")
    print(f"  replay rate      {rate:8.0f} msg/s")
    print(f"  limit 1/RTT      {1 / rtt:8.0f} msg/s  (heartbeat RTT {rtt * 1000:.2f} ms)")
    print(f"  ratio            {rate * rtt:8.2f}  (1.0 = only the round trip costs time)")
    print(f"  a month offline at 60 s samples (43200 messages) replays in ~{43200 / rate:.0f} s")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.ocpp_replay", description=__doc__)
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--repeat", type=int, default=3, help="runs (the median is printed)")
    p.add_argument("--version", choices=["1.6", "2.0.1", "both"], default="both")
    args = p.parse_args(argv)
    # the CSMS is down on purpose at first: its connection errors are expected
    logging.basicConfig(level=logging.ERROR)
    for version in ["1.6", "2.0.1"] if args.version == "both" else [args.version]:
        asyncio.run(run(args.messages, args.repeat, version))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
