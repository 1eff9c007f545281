"""When the offered current (PWM duty cycle) may change.

IEC 61851-1 gives the EV up to 5 s to follow a new duty cycle, so the offer is
not raised more often than that. Reductions, and switching the offer off, are
applied at once: they protect the fuse and the cable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class PwmPolicy:
    min_interval_s: float = 5.0
    current_a: float = 0.0
    last_change: float = -math.inf

    def decide(self, target_a: float, now: float) -> tuple[float | None, float | None]:
        """Returns (value to apply now or None, time to ask again or None)."""
        if target_a == self.current_a:
            return None, None
        due = self.last_change + self.min_interval_s
        if target_a < self.current_a or self.current_a == 0.0 or now >= due:
            return target_a, None
        return None, due

    def applied(self, value_a: float, now: float) -> None:
        self.current_a = value_a
        self.last_change = now
