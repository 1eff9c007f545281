"""Reconnect delays: exponential with full jitter, so that a fleet does not reconnect in step."""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, minimum: float, maximum: float, rng: random.Random | None = None) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self.failures = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        """The delay before the next attempt; grows with each call until reset()."""
        ceiling = min(self.maximum, self.minimum * (2**self.failures))
        self.failures = min(self.failures + 1, 32)
        # at least `minimum`, so that even a clean close cannot cause a reconnect storm
        return self.minimum + self._rng.uniform(0, max(0.0, ceiling - self.minimum) + self.minimum)

    def reset(self) -> None:
        self.failures = 0
