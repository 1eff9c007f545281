"""Benchmark: control latency inside the process, on the simulator backend.

    python -m bench.control_latency [--runs 200]

The station runs as in the daemon (real Store in a temporary directory, the
simulator's board, ChargingStation with the default [charging] settings,
WHITELIST mode, socket with a lock, INFO logs written as JSON lines to a file).
The simulated contactor is wrapped so that every command the core sends it is
timestamped; the stimulus is timestamped just before it is applied to the
simulated plant. Three latencies, each over --runs runs:

- EV state C -> contactor close command (EV resumes asking for energy, session open)
- EV state B -> contactor open command (EV pauses)
- card presented -> contactor close command (card on the local whitelist, EV
  plugged and waiting; the card goes through the simulated RFID reader, and the
  path includes the durable start of the transaction in SQLite)

and, as each card run ends: EV unplugged (state A) -> contactor open command.

Between runs the station goes back to the starting state and settles, then
waits a random 10..40 ms so that stimuli fall at random points of the
connector's 0.25 s tick and 1 s meter read.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.report import Figure, median, percentile, print_table
from hal.board import ConnectorDevices
from hal.contactor import Contactor
from ncpa import config
from ncpa.charging.station import ChargingStation
from ncpa.log import JsonFormatter
from ncpa.store import WhitelistEntry
from simulator.inprocess import sim_charger
from simulator.plant import Plant

CID = 1
CARD = "BENCH0001"
TARGET_P99_MS = 20.0
SETTLE_TIMEOUT_S = 10.0


class StampedContactor:
    """The simulated contactor, with the time of each command the core sends it."""

    def __init__(self, inner: Contactor) -> None:
        self.inner = inner
        self._waiting: tuple[bool, asyncio.Future[int]] | None = None

    def expect(self, closed: bool) -> asyncio.Future[int]:
        """A future for the perf_counter_ns of the next command to `closed`."""
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting = (closed, fut)
        return fut

    async def set_closed(self, closed: bool) -> None:
        t = time.perf_counter_ns()
        if self._waiting is not None and self._waiting[0] == closed:
            fut = self._waiting[1]
            self._waiting = None
            if not fut.done():
                fut.set_result(t)
        await self.inner.set_closed(closed)

    async def feedback_closed(self) -> bool:
        return await self.inner.feedback_closed()


class Bench:
    def __init__(self, station: ChargingStation, plant: Plant, contactor: StampedContactor) -> None:
        self.station = station
        self.plant = plant
        self.contactor = contactor

    def status(self) -> str:
        return self.station.view(CID).status

    async def settled(self, cond: Callable[[], bool], what: str) -> None:
        """Wait for the state, then a random pause (stimuli at random phases of the loops)."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while not cond():
            if time.monotonic() > deadline:
                raise RuntimeError(f"control_latency: timed out waiting for {what}")
            await asyncio.sleep(0.002)
        await asyncio.sleep(random.uniform(0.010, 0.040))

    async def measure(self, closed: bool, stimulus: Callable[[], None]) -> float:
        """Milliseconds from the stimulus to the contactor command `closed`."""
        fut = self.contactor.expect(closed)
        t0 = time.perf_counter_ns()
        stimulus()
        async with asyncio.timeout(SETTLE_TIMEOUT_S):
            t1 = await fut
        return (t1 - t0) / 1e6

    async def card_runs(self, runs: int) -> tuple[list[float], list[float]]:
        out: list[float] = []
        unplug: list[float] = []
        for _ in range(runs):
            await self.settled(lambda: self.status() == "Available", "Available")
            self.plant.plug(CID)
            # plugged, no session yet: WHITELIST mode waits for a card
            await self.settled(
                lambda: self.status() == "Preparing" and self.station.view(CID).pilot == "B",
                "Preparing",
            )
            out.append(await self.measure(True, lambda: self.plant.present_card(CARD)))
            await self.settled(lambda: self.status() == "Charging", "Charging")
            unplug.append(await self.measure(False, lambda: self.plant.unplug(CID)))
        return out, unplug

    async def ev_runs(self, runs: int) -> tuple[list[float], list[float]]:
        to_c: list[float] = []
        to_b: list[float] = []
        await self.settled(lambda: self.status() == "Available", "Available")
        self.plant.plug(CID)
        self.plant.present_card(CARD)
        await self.settled(lambda: self.status() == "Charging", "Charging")
        for _ in range(runs):
            to_b.append(await self.measure(False, lambda: self.plant.set_ev_state(CID, False)))
            await self.settled(lambda: self.status() == "SuspendedEV", "SuspendedEV")
            to_c.append(await self.measure(True, lambda: self.plant.set_ev_state(CID, True)))
            await self.settled(lambda: self.status() == "Charging", "Charging")
        self.plant.unplug(CID)
        return to_c, to_b


def _stamp_contactor(devices: ConnectorDevices) -> StampedContactor:
    stamped = StampedContactor(devices.contactor)
    devices.contactor = stamped
    return stamped


async def run(runs: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        # the daemon logs every pilot, contactor and status change: keep that cost in
        handler = logging.FileHandler(data / "ncpa.log")
        handler.setFormatter(JsonFormatter())
        root = logging.getLogger()
        saved = (root.handlers[:], root.level)
        root.handlers[:] = [handler]
        root.setLevel(logging.INFO)
        cfg = config.load(None, {"data_dir": data, "simulated": True})  # default [charging]
        stamped: list[StampedContactor] = []
        try:
            async with sim_charger(
                cfg, board_hook=lambda b: stamped.append(_stamp_contactor(b.connector(CID)))
            ) as c:
                await c.station.authorizer.add_card(WhitelistEntry(CARD, "ACCEPTED"))
                bench = Bench(c.station, c.plant, stamped[0])
                to_c, to_b = await bench.ev_runs(runs)
                card, unplug = await bench.card_runs(runs)
        finally:
            root.handlers[:], _ = saved
            root.setLevel(saved[1])
            handler.close()
    return {
        "EV state C -> contactor close": to_c,
        "EV state B -> contactor open": to_b,
        "card presented -> contactor close": card,
        "EV unplugged -> contactor open": unplug,
    }


def figures(results: dict[str, list[float]]) -> list[Figure]:
    out: list[Figure] = []
    for name, ms in results.items():
        p99 = percentile(ms, 99)
        verdict = "within" if p99 < TARGET_P99_MS else "OVER"
        out.append(Figure(f"{name}, median", median(ms), "ms"))
        out.append(
            Figure(
                f"{name}, p99",
                p99,
                "ms",
                f"max {max(ms):.2f} ms; target p99 < {TARGET_P99_MS:g} ms: {verdict}",
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.control_latency", description=__doc__.splitlines()[0]
    )
    p.add_argument("--runs", type=int, default=200, help="runs per latency (default 200)")
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be >= 1")
    results = asyncio.run(run(args.runs))
    print_table(
        f"control latency in process, simulator backend, {args.runs} runs each "
        f"(target: every control latency under {TARGET_P99_MS:g} ms p99 on a desktop-class "
        "machine)",
        figures(results),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
