"""EVSE and connector ids (OCPP 2.0.1 Part 1 §2.3): each of our connectors is an EVSE with
one connector, so EVSE n holds connector 1, and is the core's connector n."""

from __future__ import annotations

from ncpa.ocpp.station_port import StationPort


def evse_of(connector_id: int) -> tuple[int, int]:
    """The core's connector -> (evseId, connectorId on that EVSE)."""
    return connector_id, 1


def connector_of(station: StationPort, evse_id: int, connector_id: int | None = None) -> int | None:
    """(evseId, connectorId) -> the core's connector, None when there is no such one."""
    if evse_id not in station.connector_ids or connector_id not in (None, 1):
        return None
    return evse_id
