"""Benchmark: from a grid measurement that demands a reduction to the new offer on the pilot.

Runs the charging core and the energy manager on the simulator (no network,
no sleeping in the measured path). Each step raises the household load so
that the charger must reduce: t0 is when the grid meter hands the balancer
the measurement, t1 when the simulated charge controller receives the lower
PWM offer. Between steps the load drops again and the offer climbs back.

    .venv/bin/python -m bench.grid_reduction [--steps 200] [--via sim|p1]

--via p1 puts a DSMR 5 meter on a pty instead of the simulated meter: t0 is
when the telegram's last byte is written, so serial transfer, framing, CRC and
parsing (dsmr-parser) are included.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from hal.grid import GridReading
from ncpa.charging.station import ChargingStation
from ncpa.config import load
from ncpa.energy.manager import EnergyManager
from ncpa.events import EventBus
from ncpa.store import Store
from simulator.board import build_board
from simulator.grid import SimGridMeter
from tests.energy.telegrams import P1Feeder

PERIOD_S = 0.02
LOW, HIGH = 2.0, 12.0  # household amps on L1: 25 - 2 - 1 = 22 A offered, then 12 A


class StampedMeter:
    """The simulated meter; remembers when it handed over each measurement."""

    def __init__(self, inner: SimGridMeter) -> None:
        self.inner = inner
        self.t_high: float | None = None  # first measurement showing the step

    @property
    def period_s(self) -> float:
        return self.inner.period_s

    async def read(self) -> GridReading:
        reading = await self.inner.read()
        if self.t_high is None and self.inner.household[0] == HIGH:
            self.t_high = time.perf_counter()
        return reading

    def latest(self) -> GridReading | None:
        return self.inner.latest()

    async def close(self) -> None:
        await self.inner.close()


async def run(steps: int, via: str = "sim") -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        master, slave = os.openpty()
        energy_cfg: dict[str, object] = {
            "grid_max_current": 25.0,
            "load_shedding": "P1",
            "smoothing_s": 0.0,
            "increase_deadband": 0.0,
        }
        if via == "p1":
            energy_cfg.update(p1_port=os.ttyname(slave), p1_version="5")
        cfg = load(None, {"data_dir": tmp, "simulated": True})
        cfg = replace(
            cfg,
            charging=replace(
                cfg.charging,
                authentication_mode="PLUGNCHARGE",
                pwm_min_interval=0.001,
                meter_interval=PERIOD_S / 2,
            ),
            raw={"energy": energy_cfg},
        )
        store = await Store.open(Path(tmp))
        board, plant = build_board(cfg)
        station = ChargingStation(cfg, store, board, EventBus())
        grid = SimGridMeter([c.meter for c in board.connectors], interval_s=PERIOD_S)
        meter = StampedMeter(grid)
        energy = EnergyManager(station, board, cfg, grid_meter=meter if via == "sim" else None)
        feeder = P1Feeder(
            master,
            lambda: tuple(h + e for h, e in zip(grid.household, plant.currents(1), strict=True)),
            PERIOD_S,
        )
        feeding = asyncio.create_task(feeder.run()) if via == "p1" else None
        offered: list[tuple[float, float]] = []
        plant.on_connector_change(
            lambda cid: offered.append((time.perf_counter(), plant.connectors[cid].offered_a))
        )
        await station.start()
        await energy.start()
        plant.plug(1)

        async def until_offer(amps: float) -> float:
            while True:
                for t, a in reversed(offered):
                    if a == amps:
                        return t
                await asyncio.sleep(PERIOD_S / 4)

        async def sent_after(n: int) -> float:
            # telegrams are built when written: the first one after the step carries it
            while True:
                if feeder.sent > n:
                    return feeder.times[n]
                await asyncio.sleep(0.0005)

        latencies: list[float] = []
        try:
            grid.set_household([LOW, 0.0, 0.0])
            await asyncio.wait_for(until_offer(22.0), 10)
            for _ in range(steps):
                offered.clear()
                meter.t_high = None
                n = feeder.sent
                grid.set_household([HIGH, 0.0, 0.0])
                t0 = await sent_after(n) if via == "p1" else None
                t1 = await asyncio.wait_for(until_offer(12.0), 10)
                t0 = t0 if t0 is not None else meter.t_high
                assert t0 is not None
                latencies.append(t1 - t0)
                offered.clear()
                grid.set_household([LOW, 0.0, 0.0])
                await asyncio.wait_for(until_offer(22.0), 10)
        finally:
            if feeding is not None:
                feeding.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await feeding
            await energy.stop()
            await station.stop()
            await board.close()
            await store.close()
            os.close(master)
            os.close(slave)
        return latencies


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--via", choices=("sim", "p1"), default="sim")
    args = parser.parse_args(argv)
    import logging

    logging.disable(logging.INFO)  # every step logs; the figures are what matters here
    latencies = sorted(asyncio.run(run(args.steps, args.via)))
    ms = [x * 1000 for x in latencies]
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    print(f"grid reduction via {args.via}: {len(ms)} steps, measurement -> pilot offer")
    print(f"  median {statistics.median(ms):.3f} ms   p99 {p99:.3f} ms   max {ms[-1]:.3f} ms")
    print(f"  (plus up to one measurement period: {PERIOD_S * 1000:.0f} ms here, 1 s on DSMR 5)")


if __name__ == "__main__":
    main()
