"""Time from a new charging profile (install() + refresh()) to the new offer on the pilot.

A real ChargingStation on the simulator board, an EV charging on connector 1; each run
installs a TxDefaultProfile 0.1 A lower than the last (reductions reach the pilot at once;
raises wait for the EV's 5 s reaction time, which would only measure that wait) and waits
for the simulated charge controller to be given the new offer.

    .venv/bin/python bench/profile_to_pilot.py [--runs 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from ncpa import config as config_mod
from ncpa.charging.station import ChargingStation
from ncpa.energy.charging_profiles import (
    ChargingProfile,
    ChargingProfiles,
    ChargingSchedule,
    SchedulePeriod,
)
from ncpa.energy.csms_limit import CsmsLimitSource
from simulator.inprocess import sim_charger
from simulator.plant import Plant


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(runs: int, data_dir: Path) -> tuple[list[float], list[float]]:
    cfg = config_mod.load(None, {"data_dir": data_dir, "simulated": True})
    cfg = replace(cfg, charging=replace(cfg.charging, authentication_mode="PLUGNCHARGE"))
    async with sim_charger(cfg, start=False) as c:
        profiles = ChargingProfiles(c.store)
        await profiles.load()
        source = CsmsLimitSource(c.station, profiles)
        await c.station.start()
        await source.start()
        try:
            return await _measure(runs, c.station, c.plant, profiles, source)
        finally:
            await source.stop()


async def _measure(
    runs: int,
    station: ChargingStation,
    plant: Plant,
    profiles: ChargingProfiles,
    source: CsmsLimitSource,
) -> tuple[list[float], list[float]]:
    offered = asyncio.Event()
    target = [0.0]

    def watch(cid: int) -> None:
        if cid == 1 and plant.connectors[1].offered_a == target[0]:
            offered.set()

    plant.on_connector_change(watch)
    plant.plug(1)
    deadline = time.monotonic() + 30
    while not (station.view(1).status == "Charging" and plant.connectors[1].contactor_cmd):
        if time.monotonic() > deadline:
            raise RuntimeError("the simulated EV did not start charging")
        await asyncio.sleep(0.01)
    total: list[float] = []
    install: list[float] = []
    for i in range(runs):
        target[0] = round(station.config.station.absolute_max_current - 0.1 * (i + 1), 1)
        profile = ChargingProfile(
            1,
            0,
            0,
            "TxDefaultProfile",
            "Absolute",
            ChargingSchedule("A", (SchedulePeriod(0, target[0]),), start_schedule=0.0),
        )
        offered.clear()
        t0 = time.perf_counter()
        await profiles.install(profile, source.open_transactions)
        t1 = time.perf_counter()
        source.refresh()
        await asyncio.wait_for(offered.wait(), 10)
        t2 = time.perf_counter()
        install.append(t1 - t0)
        total.append(t2 - t0)
    return total, install


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        total, install = asyncio.run(run(args.runs, Path(tmp)))
    ms = 1000.0
    where = tempfile.gettempdir()
    print(
        f"profile -> pilot offer ({len(total)} runs, simulator, data dir in {where}):\n"
        f"  install() + refresh() -> new offer: median {statistics.median(total) * ms:.2f} ms,"
        f" p99 {_percentile(total, 0.99) * ms:.2f} ms\n"
        f"  of which install() (SQLite, synchronous=FULL): median"
        f" {statistics.median(install) * ms:.2f} ms, p99 {_percentile(install, 0.99) * ms:.2f} ms"
    )


if __name__ == "__main__":
    main()
