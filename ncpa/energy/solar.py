"""Charging from solar surplus: the pure decision behind the SOLAR and SOLAR_MIN modes.

The model works on the grid meter's signed currents (`GridReading.current_a`: import
positive, export negative, per phase) netted over the phases, as a meter bills:

    surplus = own draw (summed over the charger's phases) - net grid current
    target  = (surplus + import allowance) / n      per phase, n = phases the EV uses

so following `target` keeps the net import at the allowance (0 A: surplus only). A
backend that only knows magnitudes never shows an export, and SOLAR then never starts.

SOLAR: start when the export alone has reached min_current on each of the charger's
phases for `solar_start_delay_s` (and not before `min_pause_s` after a pause); follow
the target (reductions at once, increases past the dead band; the core spaces PWM
increases); below min_current hold min_current for `solar_stop_delay_s`, then pause.
The hold time is the one place where import may exceed the allowance (by at most
min_current on each phase): a passing cloud does not end the charge.
SOLAR_MIN: never below min_current, the surplus on top.

With a phase switch, `phases` says what the EV should use: one phase when the surplus
fits one phase but not three, three when three phases have fitted (with the resume
margin) for `phase_switch_delay_s`; the caller performs the switch.

`SolarController` is unit-testable with explicit times; ChargingModeSource runs it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from hal.grid import GridReading
from ncpa.energy.load_balancer import ConnectorLoad, split_total
from ncpa.energy.phases import phases_in_use
from ncpa.energy.settings import EnergyConfig

# states
WAITING = "waiting"  # not charging: waiting for enough export
STARTING = "starting"  # enough export, for less than the start delay
FOLLOWING = "following"  # charging on the surplus
HOLD = "hold"  # the surplus fell below the minimum: min_current until the hold time ends
PAUSED = "paused"  # after the hold time: waits for export again
MINIMUM = "minimum"  # SOLAR_MIN below the minimum: min_current
NO_MEASUREMENT = "no_measurement"

SOLAR = "SOLAR"
SOLAR_MIN = "SOLAR_MIN"


@dataclass(frozen=True)
class SolarDecision:
    state: str
    total_a: float  # per phase, for the charger as a whole
    per_connector: dict[int, float | None]
    phases: int  # what the EV should charge on (the phase switch's target)
    surplus_a: float | None = None  # summed over the phases, before the allowance
    target_a: float | None = None  # per phase, surplus + allowance over `phases`
    reason: str = ""


def _floor(amps: float) -> float:
    return max(0.0, math.floor(amps * 10 + 1e-9) / 10)


@dataclass
class SolarController:
    cfg: EnergyConfig
    phases: int = 3  # wired phases of the charger
    switchable: bool = False  # a phase switch can make it 1-phase
    state: str = field(default=WAITING, init=False)
    _since: float | None = field(default=None, init=False)  # start / hold / switch timers
    _paused_at: float = field(default=-math.inf, init=False)
    _total: float = field(default=0.0, init=False)
    _active_phases: int = field(default=0, init=False)
    _switch_since: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._active_phases = self.phases

    @property
    def active_phases(self) -> int:
        """Phases the charger is switched to (the wired ones without a switch)."""
        return self._active_phases

    def switched(self, phases: int) -> None:
        """The phase switch now connects `phases` phases."""
        self._active_phases = phases
        self._switch_since = None

    def reset(self) -> None:
        self.state, self._since, self._total, self._switch_since = WAITING, None, 0.0, None

    def update(
        self,
        mode: str,
        reading: GridReading | None,
        connectors: Sequence[ConnectorLoad],
        now: float,
    ) -> SolarDecision:
        cfg = self.cfg
        minimum = cfg.min_current
        n_active = sum(1 for c in connectors if c.active)
        floor_total = minimum * max(1, n_active) if mode == SOLAR_MIN else 0.0
        if reading is None:
            self.state, self._since = NO_MEASUREMENT, None
            self._total = floor_total
            return self._decision(floor_total, connectors, reason="no grid measurement")

        grid = reading.current_a
        n_meter = len(grid)
        wired = [(p + cfg.phase_rotation) % n_meter for p in range(self._active_phases)]
        own = 0.0
        used: set[int] = set()
        for c in connectors:
            if c.reading is None:
                continue
            own += sum(max(0.0, c.reading.current_a[p]) for p in range(len(wired)))
            if c.active:
                used.update(phases_in_use(c.reading, len(wired)))
        surplus = own - sum(grid)
        n = len(used) or self._active_phases
        target = (surplus + cfg.solar_import_allowance) / n
        export_per_phase = surplus / self._active_phases  # what starting needs, no allowance
        reason = f"{surplus:.1f} A surplus over the phases"

        wanted = self._wanted_phases(surplus, now)
        if mode == SOLAR_MIN:
            self.state = FOLLOWING if target >= minimum else MINIMUM
            total = max(floor_total, self._follow(target))
        else:
            total = self._solar(target, export_per_phase, now)
        self._total = total
        return self._decision(total, connectors, wanted, surplus, target, reason)

    def _follow(self, target: float) -> float:
        """Reductions at once; increases only past the dead band."""
        if target < self._total or target - self._total >= self.cfg.increase_deadband:
            return _floor(target)
        return self._total

    def _solar(self, target: float, export_per_phase: float, now: float) -> float:
        cfg = self.cfg
        minimum = cfg.min_current
        if self.state in (WAITING, STARTING, PAUSED, NO_MEASUREMENT):
            if export_per_phase < minimum or now - self._paused_at < cfg.min_pause_s:
                self.state = PAUSED if self._paused_at > -math.inf else WAITING
                self._since = None
                return 0.0
            if self._since is None:
                self._since = now
            self.state = STARTING
            if now - self._since < cfg.solar_start_delay_s:
                return 0.0
            self.state, self._since = FOLLOWING, None
            self._total = 0.0
            return self._follow(max(target, minimum))
        if target >= minimum:
            self.state, self._since = FOLLOWING, None
            return self._follow(target)
        if self.state == FOLLOWING:
            self.state, self._since = HOLD, now
        assert self._since is not None
        if now - self._since >= cfg.solar_stop_delay_s:
            self.state, self._since, self._paused_at = PAUSED, None, now
            return 0.0
        return minimum

    def _wanted_phases(self, surplus: float, now: float) -> int:
        """The phase count the surplus asks for, once it has for phase_switch_delay_s."""
        if not self.switchable or self.phases == 1:
            return self._active_phases
        cfg = self.cfg
        budget = surplus + cfg.solar_import_allowance
        if self._active_phases == 3:
            want = 1 if budget / 3 < cfg.min_current <= budget else 3
        else:
            want = 3 if budget / 3 >= cfg.min_current + cfg.resume_margin else 1
        if want == self._active_phases:
            self._switch_since = None
            return want
        if self._switch_since is None:
            self._switch_since = now
        if now - self._switch_since >= cfg.phase_switch_delay_s:
            return want
        return self._active_phases

    def _decision(
        self,
        total: float,
        connectors: Sequence[ConnectorLoad],
        phases: int | None = None,
        surplus: float | None = None,
        target: float | None = None,
        reason: str = "",
    ) -> SolarDecision:
        return SolarDecision(
            self.state,
            total,
            split_total(total, connectors, self.cfg.min_current),
            self._active_phases if phases is None else phases,
            None if surplus is None else round(surplus, 2),
            None if target is None else round(target, 2),
            reason,
        )
