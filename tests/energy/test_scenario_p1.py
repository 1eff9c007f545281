"""End to end: DSMR 5 telegrams on a pty -> P1 backend -> load balancer -> core -> pilot."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

from simulator.plant import Plant
from tests.energy.sim_station import sim_station
from tests.energy.telegrams import P1Feeder

FUSE = 25.0


def grid_currents(plant: Plant, household: list[float]) -> tuple[float, ...]:
    ev = plant.currents(1)
    return tuple(h + e for h, e in zip(household, ev, strict=True))


async def test_p1_telegrams_drive_the_offer(tmp_path: Path) -> None:
    master, slave = os.openpty()
    household = [4.0, 2.0, 2.0]
    async with sim_station(
        tmp_path, simulated_grid=False, p1_port=os.ttyname(slave), p1_version="5"
    ) as rig:
        feeder = P1Feeder(master, lambda: grid_currents(rig.plant, household), 0.05)
        task = asyncio.create_task(feeder.run())
        try:
            rig.plant.plug(1)
            await rig.until(lambda: rig.offered() == 20.0 and rig.drawing() == 16.0)
            household[0] = 14.0  # the oven: 30 A on L1 with the EV's 16 A
            start = feeder.sent
            await rig.until(lambda: feeder.sent >= start + 6)
            over = [a[0] > FUSE for a in feeder.history[start:]]
            first = over.index(True)
            assert not any(over[first + 2 :])  # the telegram in flight, then under the fuse
            assert rig.offered() == 10.0
            assert rig.energy.explain(1)["gridCurrents"][0] <= FUSE
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    os.close(master)
    os.close(slave)
