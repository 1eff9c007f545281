"""Benchmark: SetChargingProfile sent by the CSMS -> the new offer on the pilot, over OCPP.

    python -m bench.ocpp_profile_to_pilot [--repeat 100]

The real daemon pieces on the simulator board (ChargingStation, OcppClient with its
profile engine) and a loopback CSMS (the test suite's, the ocpp library's central
system side). An EV charges on connector 1; each run the CSMS sends a TxDefaultProfile
0.1 A lower than the last (reductions reach the pilot at once; raises wait for the
EV's reaction time by design) and the time until the simulated charge controller is
given the new offer is measured, next to the time until the CallResult is back.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path

from ocpp.v16 import call

from ncpa.charging.station import ChargingStation
from ncpa.config import ChargingConfig, Config, OcppConfig, StationConfig
from ncpa.events import EventBus
from ncpa.ocpp.client import OcppClient
from ncpa.store import Store
from simulator.board import build_board
from tests.ocpp.csms import Csms, Quirks


def _profile(limit: float) -> dict[str, object]:
    return {
        "chargingProfileId": 1,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
        },
    }


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(repeat: int, data_dir: Path) -> tuple[list[float], list[float]]:
    csms = await Csms(Quirks(boot_interval=3600)).start()
    cfg = Config(
        station=StationConfig(id="BENCH"),
        charging=ChargingConfig(authentication_mode="PLUGNCHARGE"),
        ocpp=OcppConfig(csms_url=csms.url, version="1.6"),
        data_dir=data_dir,
        simulated=True,
    )
    store = await Store.open(data_dir)
    board, plant = build_board(cfg)
    station = ChargingStation(cfg, store, board, EventBus())
    client = OcppClient(station, cfg)
    offered = asyncio.Event()
    target = [0.0]

    def watch(cid: int) -> None:
        if cid == 1 and plant.connectors[1].offered_a == target[0]:
            offered.set()

    plant.on_connector_change(watch)
    await station.start()
    await client.start()
    try:
        await asyncio.wait_for(client.connected.wait(), 10)
        plant.plug(1)
        await asyncio.wait_for(csms.wait_for("StartTransaction"), 10)
        total: list[float] = []
        answered: list[float] = []
        for i in range(repeat):
            target[0] = round(cfg.station.absolute_max_current - 0.1 * (i + 1), 1)
            offered.clear()
            t0 = time.perf_counter()
            res = await csms.call(
                call.SetChargingProfile(connector_id=1, cs_charging_profiles=_profile(target[0]))
            )
            t1 = time.perf_counter()
            assert res.status == "Accepted", res
            await asyncio.wait_for(offered.wait(), 10)
            total.append(time.perf_counter() - t0)
            answered.append(t1 - t0)
        return total, answered
    finally:
        await client.stop()
        await station.stop()
        await board.close()
        await store.close()
        await csms.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.ocpp_profile_to_pilot", description=__doc__)
    p.add_argument("--repeat", type=int, default=100)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        total, answered = asyncio.run(run(args.repeat, Path(tmp)))
    ms = 1000.0
    print(f"SetChargingProfile (CSMS) -> new pilot offer, {len(total)} runs over loopback:")
    print(f"  to the new offer   median {statistics.median(total) * ms:6.2f} ms   "
          f"p99 {_pct(total, 0.99) * ms:6.2f} ms")  # fmt: skip
    print(f"  to the CallResult  median {statistics.median(answered) * ms:6.2f} ms   "
          f"p99 {_pct(answered, 0.99) * ms:6.2f} ms")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
