"""H Reservation: ReserveNow and CancelReservation over the core's reservations (who may
use a reserved connector: ncpa/charging/reservation.py); ReservationStatusUpdate when one
expires or is removed goes out through ncpa/ocpp/reservation_notices.py.

ReservationCtrlr.NonEvseSpecific is false: a ReserveNow without evseId is Rejected
(H01.FR.19). The groupIdToken is the reservation's group: a card whose idTokenInfo names
that group may use it too (H03).
"""

from __future__ import annotations

import time
from typing import Any

from ocpp.v201 import call_result

from ncpa.log import get_logger
from ncpa.ocpp.routing import on
from ncpa.ocpp.timeutil import parse_time
from ncpa.ocpp.v201.base import Block
from ncpa.ocpp.v201.ids import connector_of

log = get_logger(__name__)


def connector_type_of(has_lock: bool) -> str:
    """Our connectors' ConnectorEnumType: a socket with a lock, or a tethered cable."""
    return "sType2" if has_lock else "cType2"


class ReservationBlock(Block):
    @on("ReserveNow")
    async def on_reserve_now(
        self,
        id: int,  # the message's field name
        expiry_date_time: str,
        id_token: dict[str, Any],
        evse_id: int | None = None,
        connector_type: str | None = None,
        group_id_token: dict[str, Any] | None = None,
        **_: Any,
    ) -> call_result.ReserveNow:
        station = self.ctx.station

        def rejected(why: str) -> call_result.ReserveNow:
            log.info("ocpp.reserve_now.rejected", reservation=id, evse=evse_id, why=why)
            return call_result.ReserveNow(status="Rejected", status_info={"reason_code": why})

        if evse_id is None:
            return rejected("NoEvse")  # H01.FR.19: NonEvseSpecific is false
        cid = connector_of(station, evse_id)
        if cid is None:
            return rejected("UnknownEvse")
        own_type = connector_type_of(station.config.station.has_lock)
        if connector_type not in (None, "Unknown", own_type):
            return rejected("ConnectorType")
        try:
            expiry = parse_time(expiry_date_time)
        except ValueError:
            return rejected("InvalidExpiry")
        if expiry <= time.time():
            return rejected("Expired")
        group = (group_id_token or {}).get("id_token")
        try:
            status = await station.reserve(
                id, cid, str(id_token["id_token"]), expiry, str(group) if group else None
            )
        except ValueError as e:  # an id token the core cannot hold
            log.info("ocpp.reserve_now.invalid", reservation=id, error=str(e))
            return rejected("InvalidIdToken")
        log.info("ocpp.reserve_now", reservation=id, evse=evse_id, status=status)
        return call_result.ReserveNow(status=status)

    @on("CancelReservation")
    async def on_cancel_reservation(
        self, reservation_id: int, **_: Any
    ) -> call_result.CancelReservation:
        ok = await self.ctx.station.cancel_reservation(reservation_id)
        return call_result.CancelReservation(status="Accepted" if ok else "Rejected")
