"""Off-peak charging: limit source "tariff", per connector.

The tariff in force comes from the P1 telegram's tariff indicator or from a
digital input (`board.inputs["tariff"]`, a ripple-control relay); the `on_off_peak`
setting says what to do with it:

- ON_PEAK: charge any time (no limit).
- OFF_PEAK: 0 A while the high tariff is in force (the core suspends:
  SuspendedEVSE), no limit in the low tariff.
- TRANSACTION_PEAK: decided once, at transaction start: a session that
  starts in the low tariff charges to the end, even into the high tariff; a
  session that starts in the high tariff waits for the low tariff (as OFF_PEAK).

With no tariff known (no indicator, no input), `tariff_unknown` decides:
"charge" (default: a car that never charges is the worse failure) or "wait".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from hal.grid import TariffPeriod
from hal.inputs import DigitalInput
from ncpa.energy.limits import TARIFF
from ncpa.energy.settings import check_on_off_peak
from ncpa.energy.station_api import StationInfo
from ncpa.energy.tasks import cancel
from ncpa.events import TransactionStarted, TransactionStopped
from ncpa.log import get_logger

log = get_logger(__name__)

INPUT_RETRY_S = 5.0  # after the tariff input failed, read it again after this


def tariff_limit(
    mode: str,
    tariff: TariffPeriod | None,
    *,
    unknown: str = "charge",
    session_started_low: bool | None = None,
) -> float | None:
    """The tariff source's value for one connector: None (no limit) or 0 A (wait)."""
    if mode == "ON_PEAK":
        return None
    if mode == "TRANSACTION_PEAK" and session_started_low:
        return None
    if tariff is None:
        return None if unknown == "charge" else 0.0
    return None if tariff is TariffPeriod.LOW else 0.0


class TariffSource:
    def __init__(self, station: StationInfo, mode: str, unknown: str = "charge") -> None:
        self.station = station
        self.mode = check_on_off_peak(mode)
        self.unknown = unknown
        self.tariff: TariffPeriod | None = None
        self.tariff_origin = ""  # "p1" | "input" | ""
        # TRANSACTION_PEAK: connector -> did its session start in the low tariff
        self._sessions: dict[int, bool] = {}
        self._unsubscribe: list[Callable[[], None]] = []
        self._task: asyncio.Task[None] | None = None

    def start(self, tariff_input: DigitalInput | None = None, input_low: bool = True) -> None:
        bus = self.station.bus
        self._unsubscribe = [
            bus.subscribe(self._started, TransactionStarted),
            bus.subscribe(self._stopped, TransactionStopped),
        ]
        for cid in self.station.connector_ids:  # sessions already open at start-up
            if self.station.view(cid).transaction is not None:
                self._sessions.setdefault(cid, self.tariff is TariffPeriod.LOW)
        if tariff_input is not None:
            self._task = asyncio.get_running_loop().create_task(
                self._follow_input(tariff_input, input_low), name="tariff-input"
            )
        self.apply()

    async def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        await cancel(self._task)
        self._task = None
        for cid in self.station.connector_ids:
            self.station.limits.set(TARIFF, None, connector_id=cid)

    async def _follow_input(self, tariff_input: DigitalInput, input_low: bool) -> None:
        while True:
            try:
                async for active in tariff_input.changes():
                    low = active == input_low
                    self.set_tariff(TariffPeriod.LOW if low else TariffPeriod.HIGH, "input")
            except Exception as e:  # DeviceError, or a driver bug: the tariff is unknown now
                log.warning("tariff.input_failed", error=str(e))
                self.set_tariff(None, "input")
            await asyncio.sleep(INPUT_RETRY_S)

    def set_mode(self, mode: str) -> None:
        self.mode = check_on_off_peak(mode)
        self.apply()

    def set_tariff(self, tariff: TariffPeriod | None, origin: str) -> None:
        if tariff == self.tariff:
            return
        log.info("tariff.changed", tariff=tariff, previous=self.tariff, origin=origin)
        self.tariff = tariff
        self.tariff_origin = origin if tariff is not None else ""
        self.apply()

    def _started(self, event: Any) -> None:
        assert isinstance(event, TransactionStarted)
        started_low = self.tariff is TariffPeriod.LOW
        self._sessions[event.connector_id] = started_low
        if self.mode == "TRANSACTION_PEAK":
            log.info(
                "tariff.session",
                connector=event.connector_id,
                transaction=event.transaction_id,
                decision="charge" if started_low else "wait_for_low_tariff",
            )
        self.apply()

    def _stopped(self, event: Any) -> None:
        assert isinstance(event, TransactionStopped)
        self._sessions.pop(event.connector_id, None)
        self.apply()

    def limit(self, connector_id: int) -> float | None:
        return tariff_limit(
            self.mode,
            self.tariff,
            unknown=self.unknown,
            session_started_low=self._sessions.get(connector_id),
        )

    def apply(self) -> None:
        for cid in self.station.connector_ids:
            amps = self.limit(cid)
            if self.station.limits.get(TARIFF, cid) != amps:
                self.station.limits.set(TARIFF, amps, connector_id=cid)
