"""A plugged-in electric vehicle, as the charger sees it through the pilot and the cable."""

from __future__ import annotations

from dataclasses import dataclass

from hal.evcc import MIN_OFFER_A, PilotState

TAPER_SOC = 0.8  # above this state of charge the EV draws less and less


@dataclass
class EvModel:
    capacity_wh: float = 40_000.0
    soc: float = 0.5  # 0..1
    max_current_a: float = 16.0  # per phase, what its on-board charger takes at most
    phases: int = 3  # phases its on-board charger uses (1..3)
    wants_energy: bool = True  # False: the EV pauses (state B)

    def pilot(self, offered_a: float) -> PilotState:
        """IEC 61851: the EV switches to C only when asked to charge with a valid PWM."""
        if self.wants_energy and not self.full and offered_a >= MIN_OFFER_A:
            return PilotState.C
        return PilotState.B

    @property
    def full(self) -> bool:
        return self.soc >= 1.0

    def current_a(self, offered_a: float) -> float:
        """Per-phase current drawn: min(offer, own max), tapering toward full."""
        if self.full or not self.wants_energy or offered_a < MIN_OFFER_A:
            return 0.0
        taper = 1.0
        if self.soc > TAPER_SOC:
            taper = max(0.1, (1.0 - self.soc) / (1.0 - TAPER_SOC))
        return min(offered_a, self.max_current_a * taper)

    def absorb(self, energy_wh: float) -> None:
        self.soc = min(1.0, self.soc + energy_wh / self.capacity_wh)
