"""Limit source `external`: a current limit set from outside (home automation over MQTT).

Like pushed grid currents it expires: a value not refreshed within its time to live is
removed, so a home automation that crashed cannot hold the charger at a low (or a
forgotten high) value for ever. The other sources still apply: the minimum wins.
"""

from __future__ import annotations

import asyncio
import math

from ncpa.energy.limits import EXTERNAL, CurrentLimits
from ncpa.log import get_logger

log = get_logger(__name__)

MAX_EXTERNAL_A = 80.0


def check_external_amps(value: object) -> float:
    """A current in amps, 0..80 (0 pauses). Raises ValueError saying what is wrong."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"current limit: {value!r} is not a number")
    if not 0 <= value <= MAX_EXTERNAL_A:
        raise ValueError(f"current limit: {value} A, must be 0..{MAX_EXTERNAL_A:.0f} A")
    return float(value)


class ExternalLimit:
    def __init__(self, limits: CurrentLimits, ttl_s: float) -> None:
        if ttl_s <= 0:
            raise ValueError("ttl_s: > 0")
        self.limits = limits
        self.ttl_s = ttl_s
        self._expiry: dict[int | None, asyncio.TimerHandle] = {}

    def set(self, amps: object, connector_id: int | None = None) -> float:
        """Set (or refresh) the limit; it expires after ttl_s. Raises ValueError."""
        value = check_external_amps(amps)
        self.limits.set(EXTERNAL, value, connector_id)
        old = self._expiry.pop(connector_id, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        self._expiry[connector_id] = loop.call_later(self.ttl_s, self._expire, connector_id)
        return value

    def clear(self, connector_id: int | None = None) -> None:
        handle = self._expiry.pop(connector_id, None)
        if handle is not None:
            handle.cancel()
        self.limits.set(EXTERNAL, None, connector_id)

    def get(self, connector_id: int | None = None) -> float | None:
        return self.limits.get(EXTERNAL, connector_id)

    def _expire(self, connector_id: int | None) -> None:
        self._expiry.pop(connector_id, None)
        log.info("limit.external_expired", connector=connector_id)
        self.limits.set(EXTERNAL, None, connector_id)

    def close(self) -> None:
        for cid in list(self._expiry):
            self.clear(cid)
