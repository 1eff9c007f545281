"""Where a transaction begins and ends, in the charging core's terms.

The core's own points (the defaults) are those of OCPP 1.6 and of the 2.0.1 recommendation
for a socket charger (TxStartPoint PowerPathClosed, TxStopPoint EVConnected,Authorized):
a transaction opens once the EV is connected and authorized, and ends when either ends.
A 2.0.1 CSMS may move them (ncpa/ocpp/v201/tx_points.py maps its lists onto these):

- `start_on_connect` (EVConnected): the transaction opens at plug-in, before any
  authorization; no power flows until one comes (the interlock asks for an authorized
  session, not just an open transaction).
- `start_on_authorize` (Authorized): the transaction opens at the authorization, before
  the EV is connected, when the connector is known (a station of one connector, a remote
  start naming it, a reservation); no EV within the connection timeout ends it (Timeout).
- `stop_on_deauthorize` False (TxStopPoint EVConnected only): a stop by card, CSMS or API
  deauthorizes; power stops and the cable is released, but the transaction runs on until
  the EV unplugs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TxPoints:
    start_on_connect: bool = False
    stop_on_deauthorize: bool = True
    start_on_authorize: bool = False


DEFAULT = TxPoints()
