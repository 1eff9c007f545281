"""E Transactions: TxCtrlr.TxStartPoint / TxStopPoint onto the charging core's points.

What a socket charger without a parking bay sensor or signed meter can honour (the keys
and the members each may have are in ncpa/ocpp/settings.py):
- TxStartPoint: PowerPathClosed (the default, as the spec recommends: the transaction
  opens once the EV is connected and authorized, the contactor closing next), EVConnected
  (it opens at plug-in and an update brings the idToken), Authorized (it opens at the
  authorization, before the plug, where the EVSE is known; an update tells the plug, and
  no EV within EVConnectionTimeOut ends it: Timeout). ParkingBayOccupancy, DataSigned and
  EnergyTransfer are not offered (valuesList).
- TxStopPoint: EVConnected, Authorized, PowerPathClosed; the default EVConnected,Authorized.
  A list with Authorized or PowerPathClosed ends the transaction at a stop by card, CSMS or
  API; EVConnected alone deauthorizes then and ends it when the EV unplugs. An unplugging
  always ends it (StopTxOnEVSideDisconnect is true, so it deauthorizes too).
"""

from __future__ import annotations

from ncpa.charging.tx_points import TxPoints

KEYS = ("TxStartPoint", "TxStopPoint")


def not_empty(value: str) -> str | None:
    """A validator: a transaction needs a point to start and one to end at."""
    return None if any(v.strip() for v in value.split(",")) else "at least one point"


def points(start: list[str], stop: list[str]) -> TxPoints:
    return TxPoints(
        start_on_connect="EVConnected" in start,
        stop_on_deauthorize=bool({"Authorized", "PowerPathClosed"} & set(stop)),
        start_on_authorize="Authorized" in start,
    )
