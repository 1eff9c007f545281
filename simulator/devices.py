"""The HAL devices of the simulator, each a thin view on the plant."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from hal.errors import DeviceError, DeviceTimeout
from hal.evcc import EvccFault, EvccStatus
from hal.meter import MeterReading
from simulator.plant import FaultKind, Plant

SIM_EVCC_VERSION = "sim-evcc 1.0.0"


class SimChargeController:
    def __init__(self, plant: Plant, cid: int) -> None:
        self.plant = plant
        self.cid = cid

    def _status(self) -> EvccStatus:
        c = self.plant.connectors[self.cid]
        faults: set[EvccFault] = set()
        if FaultKind.RCD in c.faults:
            faults.add(EvccFault.RCD)
        if FaultKind.EVCC_LINK_LOST in c.faults:
            faults.add(EvccFault.LINK_LOST)
        return EvccStatus(c.pilot, frozenset(faults))

    async def status_updates(self) -> AsyncIterator[EvccStatus]:
        changed = asyncio.Event()

        def listener(cid: int) -> None:
            if cid == self.cid:
                changed.set()

        remove = self.plant.on_connector_change(listener)
        try:
            last = self._status()
            yield last
            while True:
                await changed.wait()
                changed.clear()
                status = self._status()
                if status != last:
                    last = status
                    yield status
        finally:
            remove()

    def _check_link(self) -> None:
        if FaultKind.EVCC_LINK_LOST in self.plant.connectors[self.cid].faults:
            raise DeviceTimeout("charge controller does not answer")

    async def set_offered_current(self, amps: float) -> None:
        self._check_link()
        self.plant.set_offer(self.cid, amps)

    async def firmware_version(self) -> str:
        self._check_link()
        return SIM_EVCC_VERSION


class SimMeter:
    def __init__(self, plant: Plant, cid: int, timeout_s: float = 5.0) -> None:
        self.plant = plant
        self.cid = cid
        self.timeout_s = timeout_s

    async def read(self) -> MeterReading:
        c = self.plant.connectors[self.cid]
        if FaultKind.METER_TIMEOUT in c.faults:
            # a silent meter: the request hangs until the bus times out
            await asyncio.sleep(self.timeout_s)
            raise DeviceTimeout("meter does not answer")
        self.plant.advance()
        volts = self.plant.voltages(self.cid)
        amps = self.plant.currents(self.cid)
        power = tuple(v * i for v, i in zip(volts, amps, strict=True))
        return MeterReading(volts, amps, power, c.energy_wh, time.time())  # type: ignore[arg-type]


class SimContactor:
    def __init__(self, plant: Plant, cid: int) -> None:
        self.plant = plant
        self.cid = cid

    async def set_closed(self, closed: bool) -> None:
        self.plant.set_contactor(self.cid, closed)

    async def feedback_closed(self) -> bool:
        return self.plant.connectors[self.cid].contactor_closed


class SimLock:
    def __init__(self, plant: Plant, cid: int) -> None:
        self.plant = plant
        self.cid = cid

    async def set_locked(self, locked: bool) -> bool:
        self.plant.move_lock(self.cid, locked)
        return self.plant.connectors[self.cid].locked == locked

    async def feedback_locked(self) -> bool:
        return self.plant.connectors[self.cid].locked


class SimRfid:
    def __init__(self, plant: Plant) -> None:
        self.plant = plant

    async def cards(self) -> AsyncIterator[str]:
        while True:
            yield await self.plant.cards.get()


class SimShunt:
    def __init__(self, plant: Plant) -> None:
        self.plant = plant

    async def trip(self) -> bool:
        self.plant.trip_breaker()
        return not self.plant.breaker_closed


class SimInput:
    def __init__(self, plant: Plant, name: str) -> None:
        if name not in plant.inputs:
            raise DeviceError(f"no simulated input {name!r}")
        self.plant = plant
        self.name = name

    async def read(self) -> bool:
        return self.plant.inputs[self.name]

    async def changes(self) -> AsyncIterator[bool]:
        queue: asyncio.Queue[bool] = asyncio.Queue()

        def listener(name: str, value: bool) -> None:
            if name == self.name:
                queue.put_nowait(value)

        remove = self.plant.on_input_change(listener)
        try:
            yield self.plant.inputs[self.name]
            while True:
                yield await queue.get()
        finally:
            remove()


class SimPhaseSwitch:
    """The phase-switch contactor: the plant's connector charges on 1 or all its phases.

    Switching under load would arc on real hardware: here it raises, and the plant
    keeps every switch (with the contactor state) so tests can check the rule held.
    """

    def __init__(self, plant: Plant, cid: int) -> None:
        self.plant = plant
        self.cid = cid
        self._wired = plant.connectors[cid].phases

    @property
    def phases(self) -> int:
        return self.plant.connectors[self.cid].phases

    async def set_phases(self, phases: int) -> None:
        if phases not in (1, 3) or phases > self._wired:
            raise ValueError(f"phases: 1 or {self._wired}")
        self.plant.switch_phases(self.cid, phases)
