"""Benchmark: from a measurement that shows a surplus step to the new offer on the pilot.

The charging core and the energy manager run on the simulator in mode SOLAR (no
network, no sleeping in the measured path). Each step moves the simulated PV between
two constants: t0 is when the grid meter hands over the first measurement that shows
the new production, t1 when the simulated charge controller receives the new PWM
offer. A drop (less surplus, the offer falls at once) and a rise (the offer grows, as
fast as the PWM spacing allows: 1 ms here, 5 s on a real charger) are timed apart.

    .venv/bin/python -m bench.solar_step [--steps 100]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench.report import Figure, median, percentile, print_table
from hal.grid import GridReading
from ncpa.charging.station import ChargingStation
from ncpa.config import load
from ncpa.energy.manager import EnergyManager
from ncpa.events import EventBus
from ncpa.store import Store
from simulator.board import build_board
from simulator.grid import SimGridMeter

PERIOD_S = 0.02
HIGH, LOW = 14.0, 9.0  # PV amps per phase; household 1 A per phase, allowance 0
OFFER = {HIGH: 13.0, LOW: 8.0}


class StampedMeter:
    """The simulated meter; remembers when it handed over the first reading after a change."""

    def __init__(self, inner: SimGridMeter) -> None:
        self.inner = inner
        self.armed = False
        self.t0: float | None = None

    @property
    def period_s(self) -> float:
        return self.inner.period_s

    async def read(self) -> GridReading:
        reading = await self.inner.read()
        if self.armed and self.t0 is None:
            self.t0 = time.perf_counter()
        return reading

    def latest(self) -> GridReading | None:
        return self.inner.latest()

    async def close(self) -> None:
        await self.inner.close()


async def run(steps: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = load(None, {"data_dir": tmp, "simulated": True})
        cfg = replace(
            cfg,
            charging=replace(
                cfg.charging,
                authentication_mode="PLUGNCHARGE",
                pwm_min_interval=0.001,
                meter_interval=PERIOD_S / 4,
            ),
            raw={
                "energy": {
                    "load_shedding": "P1",
                    "grid_max_current": 40.0,
                    "charging_mode": "SOLAR",
                    "solar_start_delay_s": 0.0,
                    "min_pause_s": 0.0,
                    "increase_deadband": 0.0,
                    "own_reading_max_age_s": 1.0,
                }
            },
        )
        store = await Store.open(Path(tmp))
        board, plant = build_board(cfg)
        station = ChargingStation(cfg, store, board, EventBus())
        grid = SimGridMeter(
            [c.meter for c in board.connectors], household=(1.0, 1.0, 1.0), interval_s=PERIOD_S
        )
        meter = StampedMeter(grid)
        energy = EnergyManager(station, board, cfg, grid_meter=meter)
        offered: list[tuple[float, float]] = []
        plant.on_connector_change(
            lambda cid: offered.append((time.perf_counter(), plant.connectors[cid].offered_a))
        )
        await station.start()
        await energy.start()
        plant.connectors[1].ev = None
        from simulator.ev import EvModel

        plant.plug(1, EvModel(max_current_a=32.0))

        async def until_offer(amps: float) -> float:
            while True:
                for t, a in reversed(offered):
                    if abs(a - amps) < 0.05:
                        return t
                await asyncio.sleep(PERIOD_S / 8)

        out: dict[str, list[float]] = {"drop": [], "rise": []}
        try:
            grid.pv.set_currents([HIGH] * 3)
            await asyncio.wait_for(until_offer(OFFER[HIGH]), 10)
            for n in range(2 * steps):
                pv = LOW if n % 2 == 0 else HIGH
                offered.clear()
                meter.t0, meter.armed = None, True
                grid.pv.set_currents([pv] * 3)
                t1 = await asyncio.wait_for(until_offer(OFFER[pv]), 10)
                meter.armed = False
                assert meter.t0 is not None
                out["drop" if pv == LOW else "rise"].append(t1 - meter.t0)
                await asyncio.sleep(PERIOD_S * 3)  # the EV and the meters settle
        finally:
            await energy.stop()
            await station.stop()
            await board.close()
            await store.close()
        return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args(argv)
    logging.disable(logging.INFO)  # every step logs; the figures are what matters here
    result = asyncio.run(run(args.steps))
    figures = []
    for kind, values in result.items():
        ms = [v * 1000 for v in values]
        figures += [
            Figure(f"surplus {kind}: median", median(ms), "ms", f"{len(ms)} steps"),
            Figure(f"surplus {kind}: p99", percentile(ms, 99), "ms"),
        ]
    print_table("surplus step (SOLAR) -> pilot offer, from the measurement showing it", figures)
    print(f"  (plus up to one measurement period: {PERIOD_S * 1000:.0f} ms here, 1 s on DSMR 5)")


if __name__ == "__main__":
    main()
