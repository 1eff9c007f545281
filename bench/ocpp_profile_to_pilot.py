"""Benchmark: SetChargingProfile sent by the CSMS -> the new offer on the pilot, over OCPP.

    python -m bench.ocpp_profile_to_pilot [--repeat 100] [--version both|1.6|2.0.1]

The real daemon pieces on the simulator board (ChargingStation, OcppClient with its
profile engine) and a loopback CSMS (the test suite's, the ocpp library's central
system side). An EV charges on connector 1; each run the CSMS sends a TxDefaultProfile
0.1 A lower than the last (reductions reach the pilot at once; raises wait for the
EV's reaction time by design) and the time until the simulated charge controller is
given the new offer is measured, next to the time until the CallResult is back; for
OCPP 1.6 and for 2.0.1 (SetChargingProfile on EVSE 1, the same engine), side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from ocpp.v16 import call
from ocpp.v201 import call as call201

from ncpa.charging.station import ChargingStation
from ncpa.config import ChargingConfig, Config, OcppConfig, StationConfig
from ncpa.events import EventBus
from ncpa.ocpp.client import OcppClient
from ncpa.store import Store
from simulator.board import build_board
from tests.ocpp.csms import Csms, Quirks
from tests.ocpp.csms201 import Csms201

VERSIONS = ("1.6", "2.0.1")


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


def _profile201(limit: float) -> dict[str, Any]:
    return {
        "id": 1,
        "stack_level": 0,
        "charging_profile_purpose": "TxDefaultProfile",
        "charging_profile_kind": "Absolute",
        "charging_schedule": [
            {
                "id": 1,
                "start_schedule": "2024-01-01T00:00:00Z",
                "charging_rate_unit": "A",
                "charging_schedule_period": [{"start_period": 0, "limit": limit}],
            }
        ],
    }


def _set_profile(version: str, limit: float) -> Any:
    if version == "2.0.1":
        return call201.SetChargingProfile(evse_id=1, charging_profile=_profile201(limit))
    return call.SetChargingProfile(connector_id=1, cs_charging_profiles=_profile(limit))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(repeat: int, data_dir: Path, version: str = "1.6") -> tuple[list[float], list[float]]:
    if version == "2.0.1":
        csms: Csms = await Csms201(Quirks(boot_interval=3600, subprotocols=["ocpp2.0.1"])).start()
    else:
        csms = await Csms(Quirks(boot_interval=3600)).start()
    cfg = Config(
        station=StationConfig(id="BENCH"),
        charging=ChargingConfig(authentication_mode="PLUGNCHARGE"),
        ocpp=OcppConfig(csms_url=csms.url, version=version),
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
        started = "TransactionEvent" if version == "2.0.1" else "StartTransaction"
        await asyncio.wait_for(csms.wait_for(started), 10)
        total: list[float] = []
        answered: list[float] = []
        for i in range(repeat):
            target[0] = round(cfg.station.absolute_max_current - 0.1 * (i + 1), 1)
            offered.clear()
            t0 = time.perf_counter()
            res = await csms.call(_set_profile(version, target[0]))
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
    p.add_argument("--version", choices=("both", *VERSIONS), default="both")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    ms = 1000.0
    for version in VERSIONS if args.version == "both" else (args.version,):
        with tempfile.TemporaryDirectory() as tmp:
            total, answered = asyncio.run(run(args.repeat, Path(tmp), version))
        print(f"SetChargingProfile (CSMS, OCPP {version}) -> new pilot offer, "
              f"{len(total)} runs over loopback:")  # fmt: skip
        print(f"  to the new offer   median {statistics.median(total) * ms:6.2f} ms   "
              f"p99 {_pct(total, 0.99) * ms:6.2f} ms")  # fmt: skip
        print(f"  to the CallResult  median {statistics.median(answered) * ms:6.2f} ms   "
              f"p99 {_pct(answered, 0.99) * ms:6.2f} ms")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
