"""Reservation profile: ReserveNow and CancelReservation, through the station."""

from __future__ import annotations

import time
from typing import Any

from ocpp.v16 import call_result

from ncpa.log import get_logger
from ncpa.ocpp.routing import on
from ncpa.ocpp.timeutil import parse_time
from ncpa.ocpp.v16.base import Handlers

log = get_logger(__name__)


class ReservationHandlers(Handlers):
    @on("ReserveNow")
    async def on_reserve_now(
        self,
        connector_id: int,
        expiry_date: str,
        id_tag: str,
        reservation_id: int,
        parent_id_tag: str | None = None,
        **_: Any,
    ) -> call_result.ReserveNow:
        station = self.ctx.station
        if connector_id == 0 and not self.ctx.settings.get_bool("ReserveConnectorZeroSupported"):
            return call_result.ReserveNow(status="Rejected")
        try:
            expiry = parse_time(expiry_date)
            if expiry <= time.time():
                log.info("ocpp.reserve_now.expired", reservation=reservation_id, expiry=expiry_date)
                return call_result.ReserveNow(status="Rejected")
            status = await station.reserve(
                reservation_id, connector_id, id_tag, expiry, parent_id_tag
            )
        except ValueError:
            status = "Rejected"
        return call_result.ReserveNow(status=status)

    @on("CancelReservation")
    async def on_cancel_reservation(
        self, reservation_id: int, **_: Any
    ) -> call_result.CancelReservation:
        ok = await self.ctx.station.cancel_reservation(reservation_id)
        return call_result.CancelReservation(status="Accepted" if ok else "Rejected")
