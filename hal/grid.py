"""Grid meter: what the house draws at the grid connection, per phase.

One backend per `load-shedding` value: `hal.grid_p1` (DSMR P1 port),
`hal.grid_xemex` (Xemex current sensors over Modbus RTU), `hal.grid_pushed`
(values pushed through the local API) and `simulator.grid` (simulated house).
The load balancer (ncpa.energy.load_balancer) waits on `read()`.
"""

from __future__ import annotations

import asyncio
import enum
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from hal.errors import DeviceTimeout


class TariffPeriod(enum.StrEnum):
    """The tariff in force, as the meter (or a digital input) says."""

    LOW = "low"  # off-peak (night / weekend)
    HIGH = "high"  # peak / normal tariff


@dataclass(frozen=True, slots=True)
class GridReading:
    """One measurement at the grid connection.

    Tuples hold one value per phase (L1, L2, L3; a single-phase connection has
    one value). A negative current means the phase exports (solar), when the
    backend knows the direction; otherwise currents are magnitudes, which is
    the conservative reading for a fuse.
    """

    current_a: tuple[float, ...]
    timestamp: float  # time.time() when the measurement was taken (or received)
    power_w: tuple[float, ...] | None = None  # import minus export, per phase
    voltage_v: tuple[float, ...] | None = None
    tariff: TariffPeriod | None = None  # None: the meter does not say

    def __post_init__(self) -> None:
        if not 1 <= len(self.current_a) <= 3:
            raise ValueError(f"grid reading: 1 to 3 phase currents, got {len(self.current_a)}")
        for value in self.current_a:
            if not math.isfinite(value):
                raise ValueError(f"grid reading: current {value!r} is not a number")

    def phase(self, index: int) -> float:
        """Current of phase `index` (0-based); a phase the meter does not report reads 0."""
        return self.current_a[index] if index < len(self.current_a) else 0.0


@runtime_checkable
class GridMeter(Protocol):
    @property
    def period_s(self) -> float:
        """Nominal time between two measurements (the balancer's loss timeout scales on it)."""
        ...

    async def read(self) -> GridReading:
        """Wait for the next measurement and return it.

        Raises hal.errors.DeviceError when the meter is lost (port gone, garbage,
        an exception response) and hal.errors.DeviceTimeout when no measurement
        came within the backend's own timeout.
        """
        ...

    def latest(self) -> GridReading | None:
        """The newest good measurement that is not stale, without waiting (for the API)."""
        ...

    async def close(self) -> None:
        """Release the port or connection."""
        ...


class NextReading:
    """The newest reading of a backend that is pushed to, and a wait for the next one."""

    def __init__(self) -> None:
        self.latest: GridReading | None = None
        self._seq = 0
        self._event = asyncio.Event()

    def put(self, reading: GridReading) -> None:
        self.latest = reading
        self._seq += 1
        self._event.set()

    def wake(self) -> None:
        """Let waiters re-check their error condition."""
        self._event.set()

    async def wait(
        self, timeout_s: float, what: str, check: Callable[[], None] | None = None
    ) -> GridReading:
        """The next reading put after this call; DeviceTimeout after `timeout_s`.

        `check()` runs on each wake-up and may raise (a lost port).
        """
        seq = self._seq
        deadline = time.monotonic() + max(0.0, timeout_s)
        while self._seq == seq:
            if check is not None:
                check()
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeviceTimeout(f"{what}: nothing for {timeout_s:.0f} s")
            self._event.clear()
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation
            try:
                async with asyncio.timeout(left):
                    await self._event.wait()
            except TimeoutError:
                continue
        assert self.latest is not None
        return self.latest
