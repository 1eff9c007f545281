"""The "csms" source of the current limit: the composite schedule of the CSMS profiles, now.

Per connector, `station.limits.set("csms", amps, connector_id)` always holds the limit
that the installed charging profiles give at this moment (None when none applies). It is
evaluated again:
- when the OCPP client calls `refresh()` after SetChargingProfile / ClearChargingProfile;
- when a transaction starts or stops (TxProfile, Relative schedules; the TxProfiles of a
  finished transaction are dropped);
- at the next time a schedule changes its limit (a timer task; it also wakes at least every
  MAX_SLEEP seconds, so a wall clock that jumps, as on a Pi without RTC, is caught up).

W profiles are turned into amps with the connector's last measured voltage (230 V when
there is none, or the outlet reads dead with the contactor open) and the station's phases.
A ChargePointMaxProfile is shared equally between the connectors that are charging.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from hal.meter import MeterReading
from ncpa.energy.charging_profiles import ChargingProfiles
from ncpa.energy.limits import CSMS
from ncpa.events import TransactionStarted, TransactionStopped
from ncpa.log import get_logger

if TYPE_CHECKING:
    from ncpa.charging.station import ChargingStation

log = get_logger(__name__)

NOMINAL_VOLTAGE = 230.0
MIN_LIVE_VOLTAGE = 100.0  # below this a phase is dead or unused, not a mains voltage
MAX_SLEEP = 60.0  # seconds between evaluations when no schedule change is due
BOUNDARY_MARGIN = 0.005  # wake just after a change, never just before it


def mains_voltage(reading: MeterReading | None) -> float:
    """The mean voltage of the live phases of a reading, or the nominal 230 V."""
    if reading is None:
        return NOMINAL_VOLTAGE
    live = [v for v in reading.voltage_v if v >= MIN_LIVE_VOLTAGE]
    return sum(live) / len(live) if live else NOMINAL_VOLTAGE


class CsmsLimitSource:
    """Keeps the limit source "csms" equal to the composite schedule, per connector."""

    def __init__(
        self,
        station: ChargingStation,
        profiles: ChargingProfiles,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._station = station
        self._profiles = profiles
        self._clock = clock
        self._tx: dict[int, tuple[int, float]] = {}  # connector -> (local tx id, start epoch)
        self._unsubscribe: list[Callable[[], None]] = []
        self._wake = asyncio.Event()
        self._timer: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def open_transactions(self) -> dict[int, tuple[int, float]]:
        """connector_id -> (local transaction id, start epoch): what install() needs."""
        return dict(self._tx)

    async def start(self) -> None:
        for view in self._station.views():
            if view.transaction is not None:
                self._tx[view.connector_id] = (view.transaction.id, view.transaction.start_ts)
        # TxProfiles of transactions that ended while we were not running
        await self._profiles.retain_transactions(tx_id for tx_id, _ in self._tx.values())
        bus = self._station.bus
        self._unsubscribe = [
            bus.subscribe(self._on_started, TransactionStarted),
            bus.subscribe(self._on_stopped, TransactionStopped),
        ]
        self.refresh()
        self._timer = asyncio.create_task(self._run_timer(), name="csms-limit-timer")

    async def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        tasks = [t for t in (self._timer, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._timer = None
        for cid in self._station.connector_ids:
            self._station.limits.set(CSMS, None, cid)

    def refresh(self) -> None:
        """Set the "csms" limit of every connector to the composite limit now."""
        now = self._clock()
        charging = max(1, len(self._tx))
        phases = self._station.config.station.phases
        for cid in self._station.connector_ids:
            tx = self._tx.get(cid)
            try:
                amps = self._profiles.limit_amps(
                    cid,
                    now,
                    tx[1] if tx else None,
                    mains_voltage(self._station.view(cid).last_reading),
                    phases,
                    station_share=1.0 / charging if tx else 1.0,
                )
                if amps != self._station.limits.get(CSMS, cid):
                    log.info("csms_limit.set", connector=cid, amps=amps)
                    self._station.limits.set(CSMS, amps, cid)
            except Exception:  # one connector's trouble must not stop the others
                log.exception("csms_limit.failed", connector=cid)
        self._wake.set()  # the next change may be another one now

    def next_change(self) -> float | None:
        """The next time at which some connector's limit may change."""
        now = self._clock()
        times = [
            self._profiles.next_change(cid, now, tx[1] if (tx := self._tx.get(cid)) else None)
            for cid in self._station.connector_ids
        ]
        return min((t for t in times if t is not None), default=None)

    # -- events and timer -----------------------------------------------------------------

    def _on_started(self, event: TransactionStarted) -> None:
        self._tx[event.connector_id] = (event.transaction_id, event.timestamp)
        self.refresh()

    def _on_stopped(self, event: TransactionStopped) -> None:
        self._tx.pop(event.connector_id, None)
        self.refresh()  # a TxProfile applies only while its transaction runs: at once
        self._spawn(self._drop_tx_profiles(event.connector_id, event.transaction_id))

    async def _drop_tx_profiles(self, connector_id: int, transaction_id: int) -> None:
        await self._profiles.transaction_ended(connector_id, transaction_id)
        self.refresh()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("csms_limit.task_failed", error=repr(task.exception()))

    async def _run_timer(self) -> None:
        while True:
            self._wake.clear()
            try:
                due = self.next_change()
            except Exception:
                log.exception("csms_limit.next_change_failed")
                due = None
            delay = MAX_SLEEP if due is None else due - self._clock() + BOUNDARY_MARGIN
            try:
                # not asyncio.wait_for: on 3.11 it swallows a cancel that meets a wake-up
                async with asyncio.timeout(min(MAX_SLEEP, max(0.0, delay))):
                    await self._wake.wait()
            except TimeoutError:
                self.refresh()
