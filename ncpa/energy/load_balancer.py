"""Dynamic load balancing: keep the house under its main fuse.

Per phase: household = grid current - the charger's own draw; available =
grid max current - household - margin. The charger as a whole may draw the
smallest `available` over the phases its EVs use (all the installation's
phases while no EV draws). That total is split between the connectors in a
transaction and fed to the limits as source "grid", per connector.

- Reductions are applied at once, at the measurement that shows them: a real one. Right
  after the charger's own draw changed (contactor closed at a plug-in or resume, a new
  offer), the grid meter already sees the EV's current while the charger's own meter
  reading still predates it; that difference is no household load (it was: 16 -> 8 A for
  5 s at every plug-in). Such a sample holds the target until an own reading newer than
  the change arrives, for at most own_reading_max_age_s.
- Increases follow the available current with a time constant and a dead
  band (the core also rate-limits PWM increases), so the offer does not chase
  every ripple of the household load.
- Below the EV minimum (6 A) the charger pauses (limit 0: the core suspends,
  SuspendedEVSE). It resumes only when min + resume_margin has been free for
  resume_delay_s, and not before min_pause_s: no flapping around 6 A.
- Without a measurement (meter lost, pushed values stale) the total falls to
  the configured safe current at once.

`LoadBalancer` is the pure decision (unit-tested with explicit times);
`GridBalancer` runs it on a grid meter and applies it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hal.errors import DeviceError
from hal.grid import GridMeter, GridReading
from hal.meter import MeterReading
from ncpa.energy.limits import GRID
from ncpa.energy.phases import phases_in_use
from ncpa.energy.settings import EnergyConfig
from ncpa.energy.station_api import StationInfo
from ncpa.log import get_logger

log = get_logger(__name__)

# decision modes
OFF = "off"  # no grid measurement configured: no grid limit
BALANCING = "balancing"
PAUSED = "paused"
FALLBACK = "fallback"  # measurement lost: safe current


@dataclass(frozen=True, slots=True)
class ConnectorLoad:
    connector_id: int
    active: bool  # in a transaction: gets a share of the total
    started: float = math.inf  # transaction start: earlier sessions are served first
    reading: MeterReading | None = None  # the connector's own meter, when fresh
    draw_changed_ts: float = 0.0  # the contactor or the offer changed then (time.time())
    offered_a: float = 0.0  # the pilot offer now: what the EV may draw at most

    def unmeasured(self, grid_ts: float, now: float, window: float) -> bool:
        """Its draw changed (a plug-in, a resume, a new offer) after its last own reading but
        before the grid reading: the grid shows a draw of the charger's that no own reading
        shows yet, and the difference is not the household's."""
        changed = self.draw_changed_ts
        if not self.active or now - changed >= window or changed > grid_ts:
            return False
        return self.reading is None or self.reading.timestamp < changed


@dataclass(frozen=True)
class Decision:
    mode: str
    total_a: float | None  # what the charger may draw per phase; None: no grid limit
    per_connector: dict[int, float | None]
    grid_a: tuple[float, ...] | None = None
    household_a: tuple[float, ...] | None = None  # installationUsage
    available_a: tuple[float, ...] | None = None  # per phase, after the margin
    reason: str = ""


def _floor(amps: float) -> float:
    return max(0.0, math.floor(amps * 10 + 1e-9) / 10)  # 0.1 A steps, never rounded up


def split_total(
    total: float, connectors: Sequence[ConnectorLoad], minimum: float
) -> dict[int, float | None]:
    """Share `total` between connectors in a transaction, earliest first.

    Each running session gets at least the EV minimum; sessions that do
    not fit get 0 (they wait, SuspendedEVSE). A connector without a
    session gets the share it would have if one started now, so that a
    new session never pushes the sum over the total for long.
    """
    active = sorted((c for c in connectors if c.active), key=lambda c: c.started)
    fit = len(active) if minimum <= 0 else min(len(active), int(total // minimum + 1e-9))
    out: dict[int, float | None] = {}
    for n, c in enumerate(active):
        out[c.connector_id] = _floor(total / fit) if n < fit else 0.0
    idle_share = _floor(total / (fit + 1))
    for c in connectors:
        if not c.active:
            out[c.connector_id] = idle_share
    return out


@dataclass
class LoadBalancer:
    cfg: EnergyConfig
    grid_max_current: float
    phases: int = 3  # of the installation: 1 or 3
    _target: float | None = field(default=None, init=False)
    _paused: bool = field(default=False, init=False)
    _paused_since: float = field(default=0.0, init=False)
    _room_since: float | None = field(default=None, init=False)
    _last: float | None = field(default=None, init=False)
    _mode: str = field(default=OFF, init=False)

    @property
    def mode(self) -> str:
        return self._mode

    def off(self, connectors: Sequence[ConnectorLoad]) -> Decision:
        self._set_mode(OFF, "no grid measurement")
        self._target = None
        return Decision(OFF, None, {c.connector_id: None for c in connectors}, reason="off")

    def update(
        self, reading: GridReading | None, connectors: Sequence[ConnectorLoad], now: float
    ) -> Decision:
        if reading is None:
            self._target = None  # start again from the measurement when it is back
            self._last = None
            self._set_mode(FALLBACK, "grid measurement lost")
            total = _floor(self.cfg.safe_current)
            return Decision(
                FALLBACK, total, self.split(total, connectors), reason="grid measurement lost"
            )
        # work in the grid's phases: the charger's L1 is wired to grid phase 1 + rotation
        grid = reading.current_a
        n = len(grid)
        wired = [(p + self.cfg.phase_rotation) % n for p in range(self.phases)]
        own = [0.0] * n
        own_most = [0.0] * n  # the most the charger can draw now (unmeasured at its offer)
        used: set[int] = set()
        window = self.cfg.own_reading_max_age_s
        unmeasured = False
        for c in connectors:
            late = c.unmeasured(reading.timestamp, now, window)
            unmeasured = unmeasured or late
            for p, g in enumerate(wired):
                measured = max(0.0, c.reading.current_a[p]) if c.reading is not None else 0.0
                own[g] += measured
                own_most[g] += max(measured, c.offered_a) if late else measured
            if c.reading is not None and c.active:
                used.update(wired[p] for p in phases_in_use(c.reading, self.phases))
        household = tuple(g - o for g, o in zip(grid, own, strict=True))
        available = tuple(self.grid_max_current - h - self.cfg.margin for h in household)
        relevant = sorted(used or set(wired))
        room = min(available[g] for g in relevant)
        dt = 0.0 if self._last is None else max(0.0, now - self._last)
        self._last = now
        if unmeasured and self._target is not None and room < self._target:
            # not (all) the household's: cut only what even the charger's largest possible
            # draw leaves unexplained, and decide the rest at the next coherent measurement
            least = min(
                self.grid_max_current - (grid[g] - own_most[g]) - self.cfg.margin for g in relevant
            )
            self._target = min(self._target, least)
            reason = "own draw changed, not measured yet"
            return self._decision(self._target, grid, household, available, reason, connectors)
        if self._target is None or room < self._target:
            self._target = room  # first measurement, or a reduction: at once
        elif room - self._target >= self.cfg.increase_deadband:
            tau = self.cfg.smoothing_s
            alpha = 1.0 if tau <= 0 else 1.0 - math.exp(-dt / tau)
            self._target += (room - self._target) * alpha
        reason = f"{room:.1f} A free on L{1 + min(relevant, key=lambda p: available[p])}"
        minimum = self.cfg.min_current
        if not self._paused and self._target < minimum:
            self._paused = True
            self._paused_since = now
            self._room_since = None
        elif self._paused:
            if room >= minimum + self.cfg.resume_margin:
                if self._room_since is None:
                    self._room_since = now
                if (
                    now - self._room_since >= self.cfg.resume_delay_s
                    and now - self._paused_since >= self.cfg.min_pause_s
                ):
                    self._paused = False
                    self._target = room
            else:
                self._room_since = None
        return self._decision(self._target, grid, household, available, reason, connectors)

    def _decision(
        self,
        target: float,
        grid: tuple[float, ...],
        household: tuple[float, ...],
        available: tuple[float, ...],
        reason: str,
        connectors: Sequence[ConnectorLoad] = (),
    ) -> Decision:
        if self._paused:
            self._set_mode(PAUSED, reason)
            total = 0.0
        else:
            self._set_mode(BALANCING, reason)
            total = _floor(target)
        return Decision(
            self._mode,
            total,
            self.split(total, connectors),
            grid_a=grid,
            household_a=household,
            available_a=available,
            reason=reason,
        )

    def split(self, total: float, connectors: Sequence[ConnectorLoad]) -> dict[int, float | None]:
        return split_total(total, connectors, self.cfg.min_current)

    def _set_mode(self, mode: str, reason: str) -> None:
        if mode != self._mode:
            log.info("balancer.mode", mode=mode, previous=self._mode, reason=reason)
            self._mode = mode


class GridBalancer:
    """Runs a LoadBalancer on a grid meter and feeds limit source "grid"."""

    def __init__(
        self,
        station: StationInfo,
        meter: GridMeter | None,
        cfg: EnergyConfig,
        grid_max_current: float,
        phases: int,
        *,
        optional: bool = False,
        on_reading: Callable[[GridReading], None] | None = None,
        on_step: Callable[[GridReading | None, float], None] | None = None,
    ) -> None:
        """optional: a meter that may never report (pushed values): balancing starts
        with its first reading, and silence before that is "off", not "lost".
        on_step(reading or None, now): after each decision (the charging modes follow it)."""
        self.station = station
        self.meter = meter
        self.optional = optional
        self.on_reading = on_reading
        self.on_step = on_step
        self._seen = False
        self.cfg = cfg
        self.balancer = LoadBalancer(cfg, grid_max_current, phases)
        self.decision: Decision | None = None
        self.reading: GridReading | None = None
        self._applied: dict[int, float | None] = {}

    def connectors(self, now: float) -> list[ConnectorLoad]:
        out = []
        for cid in self.station.connector_ids:
            view = self.station.view(cid)
            tx = view.transaction
            reading = view.last_reading
            if reading is not None and now - reading.timestamp > self.cfg.own_reading_max_age_s:
                reading = None  # stale: do not take it off the household
            out.append(
                ConnectorLoad(
                    cid,
                    tx is not None,
                    tx.start_ts if tx else math.inf,
                    reading,
                    view.draw_changed_ts,
                    view.offered_a,
                )
            )
        return out

    def set_grid_max_current(self, amps: float) -> None:
        self.balancer.grid_max_current = amps
        reading = self.reading
        if reading is not None and time.time() - reading.timestamp < self.lost_after():
            self.step(reading)  # a lower fuse rating must not wait for the next measurement

    def apply(self, decision: Decision) -> None:
        self.decision = decision
        limits = self.station.limits
        for cid, amps in decision.per_connector.items():
            if self._applied.get(cid, -1.0) != amps:
                self._applied[cid] = amps
                limits.set(GRID, amps, connector_id=cid)

    def step(self, reading: GridReading | None, now: float | None = None) -> Decision:
        now = time.time() if now is None else now
        self.reading = reading
        if reading is not None:
            self._seen = True
            if self.on_reading is not None:
                self.on_reading(reading)
        if self.meter is None or (self.optional and not self._seen):
            decision = self.balancer.off(self.connectors(now))
        else:
            decision = self.balancer.update(reading, self.connectors(now), now)
        self.apply(decision)
        if self.on_step is not None:
            self.on_step(reading, now)
        return decision

    def lost_after(self) -> float:
        period = self.meter.period_s if self.meter else 1.0
        return max(self.cfg.lost_after_s, 2 * period + 1.0)

    async def run(self) -> None:
        if self.meter is None:
            self.step(None)
            return
        meter = self.meter
        while True:
            try:
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a
                # cancellation that races with the read, and stop() would wait forever
                reading: GridReading | None
                async with asyncio.timeout(self.lost_after()):
                    reading = await meter.read()
            except (DeviceError, TimeoutError) as e:
                if self.balancer.mode == BALANCING or self.balancer.mode == PAUSED:
                    log.warning("grid.lost", error=str(e) or type(e).__name__)
                reading = None
            except Exception:
                # a bug in a backend must not freeze the grid limit where it was
                log.exception("grid.meter_failed")
                reading = None
            self.step(reading)
            if reading is None:
                # the meter may fail at once each time (port gone): do not spin
                await asyncio.sleep(min(1.0, meter.period_s))

    def clear(self) -> None:
        for cid in self.station.connector_ids:
            self.station.limits.set(GRID, None, connector_id=cid)
        self._applied.clear()
