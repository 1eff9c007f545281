"""Reconnect delays: exponential with full jitter, so that a fleet does not reconnect in step."""

from __future__ import annotations

import random
from collections.abc import Callable


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


class RetryBackOff:
    """2.0.1 B (OCPPCommCtrlr): RetryBackOffWaitMinimum, doubled at each failure up to
    RetryBackOffRepeatTimes times, plus a random part up to RetryBackOffRandomRange on
    every attempt; read at each attempt, so a SetVariables applies to the next one."""

    def __init__(
        self,
        wait_minimum: Callable[[], float],
        repeat_times: Callable[[], int],
        random_range: Callable[[], float],
        rng: random.Random | None = None,
    ) -> None:
        self._wait_minimum = wait_minimum
        self._repeat_times = repeat_times
        self._random_range = random_range
        self.failures = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        doublings = min(self.failures, self._repeat_times())
        self.failures = min(self.failures + 1, 32)
        base: float = max(0.01, self._wait_minimum()) * 2**doublings
        return base + self._rng.uniform(0, max(0.0, self._random_range()))

    def reset(self) -> None:
        self.failures = 0


def doublings(low: float, high: float) -> int:
    """How many times `low` doubles before it reaches `high` (RetryBackOffRepeatTimes from
    the config file's backoff_min / backoff_max)."""
    n = 0
    while low * 2**n < high and n < 20:
        n += 1
    return n
