"""The retained state documents: one per connector, one for the station (JSON objects).

Built from the charging core's views and the energy manager each time, so a document
is always consistent in itself; `StatePublisher` decides when to send which.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from ncpa.charging.connector import ConnectorView

CHARGING_STATUSES = ("Charging",)
UNPLUGGED_PILOTS = ("A", "E", "F")


class EnergyView(Protocol):
    """What the state needs from the energy manager (ncpa.energy.manager.EnergyManager)."""

    def grid_currents(self) -> list[float] | None: ...
    def installation_usage(self) -> list[float] | None: ...


def connector_document(view: ConnectorView, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    r = view.last_reading
    tx = view.transaction
    session_wh = None
    if tx is not None:
        last = r.energy_wh if r is not None else tx.last_meter_wh
        session_wh = max(0.0, last - tx.meter_start_wh)
    return {
        "status": view.status,
        "errorCode": view.error_code,
        "plugged": view.pilot not in UNPLUGGED_PILOTS,
        "charging": view.status in CHARGING_STATUSES,
        "fault": bool(view.faults),
        "faults": sorted(view.faults),
        "offered": round(view.offered_a, 2),
        "current": [round(a, 2) for a in r.current_a] if r is not None else [0.0, 0.0, 0.0],
        "power": round(r.total_power_w, 1) if r is not None else 0.0,
        "energy": round(r.energy_wh / 1000.0, 4) if r is not None else None,  # kWh register
        "sessionEnergy": None if session_wh is None else round(session_wh / 1000.0, 4),
        "limit": round(view.limit.amps, 2),
        "limitSource": view.limit.source,
        "idTag": tx.id_tag if tx is not None else None,
        "transactionId": tx.id if tx is not None else None,
        "sessionDuration": None if tx is None else max(0, round(now - tx.start_ts)),
    }


def station_document(
    energy: EnergyView | None,
    csms: Callable[[], str],
    mode: str,
    mode_state: str,
    external_limit: float | None,
) -> dict[str, Any]:
    return {
        "csms": csms(),
        "gridCurrents": energy.grid_currents() if energy is not None else None,
        "installationUsage": energy.installation_usage() if energy is not None else None,
        "mode": mode,
        "modeState": mode_state,
        "externalLimit": external_limit,
    }
