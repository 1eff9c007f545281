"""When to publish which state document: at once on a status, session, limit, fault or
mode change (events of the core); drawn current, power and energy at most every
`meter_interval_s`; the station document (grid, CSMS link) when it changes.

Bus handlers only mark documents dirty and wake the publisher task (they must not
block the core); the task builds the JSON and hands it to the link, which never waits.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from ncpa.charging.station import ChargingStation
from ncpa.events import (
    ChargingModeChanged,
    FaultChanged,
    LimitChanged,
    MeterSample,
    StatusChanged,
    TransactionStarted,
    TransactionStopped,
)
from ncpa.home.connection import MqttLink
from ncpa.home.state import EnergyView, connector_document, station_document
from ncpa.home.topics import Topics

STATION = 0  # the station document's key among the dirty ones
STATION_POLL_S = 1.0


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


class StatePublisher:
    def __init__(
        self,
        link: MqttLink,
        topics: Topics,
        station: ChargingStation,
        *,
        energy: EnergyView | None,
        csms: Callable[[], str],
        mode: Callable[[], tuple[str, str]],
        external_limit: Callable[[], float | None],
        meter_interval_s: float,
    ) -> None:
        self.link = link
        self.topics = topics
        self.station = station
        self.energy = energy
        self.csms = csms
        self.mode = mode
        self.external_limit = external_limit
        self.meter_interval_s = meter_interval_s
        self._dirty: set[int] = {STATION, *station.connector_ids}
        self._wake = asyncio.Event()
        self._last_meter: dict[int, float] = {}
        self._unsubscribe: list[Callable[[], None]] = []
        self._task: asyncio.Task[None] | None = None
        self.published_at: dict[str, float] = {}  # topic -> perf_counter of the last hand-over

    def start(self) -> None:
        bus = self.station.bus
        for kind in (StatusChanged, TransactionStarted, TransactionStopped, LimitChanged,
                     FaultChanged):  # fmt: skip
            self._unsubscribe.append(bus.subscribe(self._on_connector_event, kind))
        self._unsubscribe.append(bus.subscribe(self._on_meter, MeterSample))
        self._unsubscribe.append(bus.subscribe(self._on_station_event, ChargingModeChanged))
        self._task = asyncio.get_running_loop().create_task(self._run(), name="mqtt-state")

    async def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    # -- bus handlers: mark and wake, nothing more --------------------------------------

    def _mark(self, key: int) -> None:
        self._dirty.add(key)
        self._wake.set()

    def _on_connector_event(self, event: Any) -> None:
        self._mark(event.connector_id)

    def _on_station_event(self, _event: object) -> None:
        self._mark(STATION)

    def _on_meter(self, event: MeterSample) -> None:
        now = time.monotonic()
        if now - self._last_meter.get(event.connector_id, -1e9) >= self.meter_interval_s:
            self._last_meter[event.connector_id] = now
            self._mark(event.connector_id)

    # -- the task ---------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            try:
                async with asyncio.timeout(STATION_POLL_S):
                    await self._wake.wait()
            except TimeoutError:
                self._dirty.add(STATION)  # grid currents, CSMS link: published on change
            self._wake.clear()
            self.flush()

    def refresh(self) -> None:
        """Publish every document now (after a command: its effect is seen at once)."""
        self._dirty.update({STATION, *self.station.connector_ids})
        self.flush()

    def flush(self) -> None:
        dirty, self._dirty = self._dirty, set()
        for key in sorted(dirty):
            if key == STATION:
                mode, state = self.mode()
                doc = station_document(self.energy, self.csms, mode, state, self.external_limit())
                self._retain(self.topics.station_state, doc)
            elif key in self.station.connectors:
                self._retain(self.topics.connector_state(key), connector_document(
                    self.station.view(key)
                ))  # fmt: skip

    def _retain(self, topic: str, doc: dict[str, Any]) -> None:
        self.link.retain(topic, dumps(doc))
        self.published_at[topic] = time.perf_counter()
