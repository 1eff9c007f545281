"""The offered current is the minimum over named sources.

Each source (hardware, installer, grid, csms, schedule, tariff, ...) sets its
own value with `set(source, amps)`; `None` removes it. A source may apply to
the whole station (connector_id None) or to one connector. The effective limit
of a connector is the minimum over the station's sources and its own, and the
winning source is known, so the API can say why a limit is in force.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ncpa.log import get_logger

log = get_logger(__name__)

# well-known source names (any string works; these are the ones the core knows)
HARDWARE = "hardware"
INSTALLER = "installer"
GRID = "grid"
CSMS = "csms"
SCHEDULE = "schedule"
TARIFF = "tariff"
MODE = "mode"  # the charging mode (FAST, SOLAR, SOLAR_MIN)
EXTERNAL = "external"  # home automation (MQTT), expires unless refreshed
PAUSE = "pause"  # a connector paused by its owner (MQTT pause/resume): 0 A


@dataclass(frozen=True, slots=True)
class Limit:
    amps: float
    source: str


class CurrentLimits:
    def __init__(self, connector_ids: list[int]) -> None:
        self._connector_ids = list(connector_ids)
        # (source, connector_id or None) -> amps
        self._values: dict[tuple[str, int | None], float] = {}
        self._listeners: list[Callable[[int, Limit], None]] = []
        self._last: dict[int, Limit] = {}

    def on_change(self, listener: Callable[[int, Limit], None]) -> None:
        """listener(connector_id, new_limit) when a connector's effective limit changes."""
        self._listeners.append(listener)

    def set(self, source: str, amps: float | None, connector_id: int | None = None) -> None:
        if amps is not None and (math.isnan(amps) or amps < 0):
            raise ValueError(f"limit {source}: {amps!r} is not a current >= 0")
        key = (source, connector_id)
        if amps is None:
            self._values.pop(key, None)
        else:
            self._values[key] = float(amps)
        self._notify()

    def get(self, source: str, connector_id: int | None = None) -> float | None:
        return self._values.get((source, connector_id))

    def sources(self, connector_id: int) -> dict[str, float]:
        """Every source that applies to the connector, with its value (station-wide and own)."""
        out: dict[str, float] = {}
        for (source, cid), amps in self._values.items():
            if cid is None or cid == connector_id:
                out[source] = min(amps, out.get(source, math.inf))
        return out

    def effective(self, connector_id: int) -> Limit:
        best = Limit(math.inf, "none")
        for source, amps in sorted(self.sources(connector_id).items()):
            if amps < best.amps:
                best = Limit(amps, source)
        if best.amps == math.inf:
            return Limit(0.0, "none")  # no source at all: offer nothing
        return best

    def _notify(self) -> None:
        for cid in self._connector_ids:
            new = self.effective(cid)
            old = self._last.get(cid)
            if old == new:
                continue
            self._last[cid] = new
            if old is None or old.source != new.source:
                log.info(
                    "limit.source",
                    connector=cid,
                    source=new.source,
                    amps=new.amps,
                    previous=old.source if old else None,
                )
            for listener in list(self._listeners):
                listener(cid, new)
