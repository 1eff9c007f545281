"""The live view of the charger for the web page: snapshots, session history, fan-out.

The hub follows the event bus (it never touches hardware): each subscriber gets its own
bounded queue of small JSON-ready dicts. A subscriber that falls behind loses its queued
events and gets one `resync` instead (the stream then sends a fresh snapshot), so a slow
browser can neither grow memory nor hold up the core.

Per connector the hub keeps the history of the open session (power, offered current and
the limit changes, for the page's chart), bounded: when full it keeps every other point.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ncpa.charging.connector import ConnectorView
from ncpa.charging.station import ChargingStation
from ncpa.events import (
    AuthorizationDecided,
    FaultChanged,
    LimitChanged,
    MeterSample,
    SafetyAction,
    StatusChanged,
    TransactionStarted,
    TransactionStopped,
)

QUEUE_SIZE = 256
HISTORY_POINTS = 1200
LIMIT_MARKS = 200
RESYNC = {"type": "resync"}


def _amps(x: float) -> float | None:
    return round(x, 3) if math.isfinite(x) else None


@dataclass
class SessionHistory:
    """Points [t, power W, offered A] and limit marks [t, amps, source] of one session."""

    transaction_id: int | None = None
    points: list[list[float]] = field(default_factory=list)
    limits: deque[list[Any]] = field(default_factory=lambda: deque(maxlen=LIMIT_MARKS))
    _stride: int = 1
    _skipped: int = 0

    def reset(self, transaction_id: int | None) -> None:
        self.transaction_id = transaction_id
        self.points = []
        self.limits.clear()
        self._stride, self._skipped = 1, 0

    def add(self, t: float, power: float, offered: float) -> None:
        self._skipped += 1
        if self._skipped < self._stride:
            return
        self._skipped = 0
        self.points.append([round(t, 3), round(power, 1), round(offered, 2)])
        if len(self.points) >= HISTORY_POINTS:  # halve the resolution, keep the whole session
            self.points = self.points[::2]
            self._stride *= 2

    def json(self) -> dict[str, Any]:
        return {
            "transactionId": self.transaction_id,
            "points": self.points,
            "limits": list(self.limits),
        }


class LiveHub:
    def __init__(
        self, station: ChargingStation, csms: Callable[[], dict[str, Any]] | None = None
    ) -> None:
        self.station = station
        self.csms = csms
        self._queues: set[asyncio.Queue[dict[str, Any]]] = set()
        self.history = {cid: SessionHistory() for cid in station.connector_ids}
        self._unsubscribe: Callable[[], None] | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        for v in self.station.views():
            if v.transaction is not None:
                self.history[v.connector_id].reset(v.transaction.id)
        self._unsubscribe = self.station.bus.subscribe(self._on_event)

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    # -- subscribers -------------------------------------------------------------------
    @property
    def subscribers(self) -> int:
        return len(self._queues)

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._queues.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[dict[str, Any]]) -> None:
        self._queues.discard(q)

    def _send(self, event: dict[str, Any]) -> None:
        for q in self._queues:
            try:
                q.put_nowait(event)
            except asyncio.QueueFull:
                while not q.empty():
                    q.get_nowait()
                q.put_nowait(RESYNC)

    # -- the bus -----------------------------------------------------------------------
    def _on_event(self, event: object) -> None:
        now = time.time()
        if isinstance(event, MeterSample):
            self._sample(event, now)
            return
        out: dict[str, Any] | None = None
        if isinstance(event, TransactionStarted):
            self.history[event.connector_id].reset(event.transaction_id)
            out = {
                "type": "transaction",
                "connectorId": event.connector_id,
                "started": True,
                "transactionId": event.transaction_id,
                "idTag": event.id_tag,
            }
        elif isinstance(event, TransactionStopped):
            out = {
                "type": "transaction",
                "connectorId": event.connector_id,
                "started": False,
                "transactionId": event.transaction_id,
                "reason": event.reason,
                "energyWh": round(max(0.0, event.meter_stop_wh), 1),
            }
        elif isinstance(event, LimitChanged):
            h = self.history.get(event.connector_id)
            if h is not None and h.transaction_id is not None:
                h.limits.append([round(now, 3), _amps(event.amps), event.source])
            out = {
                "type": "limit",
                "connectorId": event.connector_id,
                "amps": _amps(event.amps),
                "source": event.source,
                "time": round(now, 3),
            }
        elif isinstance(event, StatusChanged):
            out = {"type": "status", "connectorId": event.connector_id, "status": event.status}
        elif isinstance(event, FaultChanged):
            out = {
                "type": "fault",
                "connectorId": event.connector_id,
                "fault": event.fault,
                "active": event.active,
            }
        elif isinstance(event, SafetyAction):
            out = {"type": "safety", "connectorId": event.connector_id, "action": event.action}
        elif isinstance(event, AuthorizationDecided):
            out = {"type": "authorization", "status": event.status, "source": event.source}
        if out is not None:
            # every discrete event is followed by the connector's new state
            self._send(out)
            if "connectorId" in out:
                self._send(self._connector_event(out["connectorId"]))

    def _sample(self, e: MeterSample, now: float) -> None:
        h = self.history.get(e.connector_id)
        r = e.reading
        if h is not None and e.transaction_id is not None:
            if h.transaction_id != e.transaction_id:
                h.reset(e.transaction_id)
            h.add(r.timestamp, r.total_power_w, e.offered_a)
        self._send(self._connector_event(e.connector_id))

    def _connector_event(self, cid: int) -> dict[str, Any]:
        view = next((v for v in self.station.views() if v.connector_id == cid), None)
        if view is None:
            return {"type": "connector", "connectorId": cid}
        return {"type": "connector", "connector": self.connector_json(view)}

    # -- snapshots ---------------------------------------------------------------------
    def connector_json(self, v: ConnectorView) -> dict[str, Any]:
        r = v.last_reading
        tx = v.transaction
        session = None
        if tx is not None:
            energy = r.energy_wh - tx.meter_start_wh if r is not None else tx.consumed_wh
            session = {
                "transactionId": tx.id,
                "idTag": tx.id_tag,
                "startDate": int(tx.start_ts),
                "energyWh": round(max(0.0, energy), 1),
            }
        return {
            "connectorId": v.connector_id,
            "status": v.status,
            "errorCode": v.error_code,
            "operative": v.operative,
            "pilot": v.pilot,
            "contactorClosed": v.contactor_closed,
            "locked": v.locked,
            "offered": round(v.offered_a, 2),
            "limit": {
                "amps": _amps(v.limit.amps),
                "source": v.limit.source,
                "sources": {
                    k: _amps(a) for k, a in self.station.limits.sources(v.connector_id).items()
                },
            },
            "faults": sorted(v.faults),
            "currents": [round(x, 2) for x in r.current_a] if r else [0.0, 0.0, 0.0],
            "voltages": [round(x, 1) for x in r.voltage_v] if r else [0.0, 0.0, 0.0],
            "powerW": round(r.total_power_w, 1) if r else 0.0,
            "meterWh": round(r.energy_wh, 1) if r else None,
            "session": session,
        }

    def snapshot(self) -> dict[str, Any]:
        st = self.station
        return {
            "type": "snapshot",
            "time": round(time.time(), 3),
            "authorizationMode": str(st.auth_mode),
            "lockMode": str(st.lock_mode),
            "stationMaxCurrent": float(st.station_max_current),
            "csms": self.csms() if self.csms is not None else {"configured": False},
            "connectors": [self.connector_json(v) for v in st.views()],
            "history": {str(cid): h.json() for cid, h in self.history.items()},
        }
