"""G Availability: ChangeAvailability for the station or an EVSE (kept across restarts by
the core). StatusNotification and Heartbeat go out from the session and the queue."""

from __future__ import annotations

from typing import Any

from ocpp.v201 import call_result

from ncpa.ocpp.routing import on
from ncpa.ocpp.v201.base import Block
from ncpa.ocpp.v201.ids import connector_of


class AvailabilityBlock(Block):
    @on("ChangeAvailability")
    async def on_change_availability(
        self, operational_status: str, evse: dict[str, Any] | None = None, **_: Any
    ) -> call_result.ChangeAvailability:
        station = self.ctx.station
        target = 0
        if evse is not None and evse.get("id", 0) != 0:
            cid = connector_of(station, int(evse["id"]), evse.get("connector_id"))
            if cid is None:
                return call_result.ChangeAvailability(
                    status="Rejected", status_info={"reason_code": "UnknownEvse"}
                )
            target = cid
        status = await station.set_operative(target, operational_status == "Operative")
        return call_result.ChangeAvailability(status=status)
