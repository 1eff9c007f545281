"""Why the offered current is what it is: the effective limit, its source, every source.

`explain_limit` works on CurrentLimits alone; EnergyManager.explain() adds the
grid side (grid currents, installationUsage, the balancer's state) for
/installer-status and /status.
"""

from __future__ import annotations

import math
from typing import Any

from ncpa.energy.limits import CurrentLimits


def _amps(value: float) -> float | None:
    return None if math.isinf(value) else round(value, 2)


def explain_limit(limits: CurrentLimits, connector_id: int) -> dict[str, Any]:
    """`{"connectorId", "limit": {"amps", "source"}, "sources": {name: amps}}`.

    `limit.source` is "none" when no source applies (then nothing is offered).
    """
    effective = limits.effective(connector_id)
    return {
        "connectorId": connector_id,
        "limit": {"amps": _amps(effective.amps), "source": effective.source},
        "sources": {
            name: _amps(amps) for name, amps in sorted(limits.sources(connector_id).items())
        },
    }


def rounded(values: tuple[float, ...] | None) -> list[float] | None:
    return None if values is None else [round(v, 2) for v in values]
