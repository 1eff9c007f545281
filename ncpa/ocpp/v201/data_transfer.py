"""P DataTransfer from the CSMS: no vendor extensions here, so UnknownVendorId."""

from __future__ import annotations

from typing import Any

from ocpp.v201 import call_result

from ncpa.log import get_logger
from ncpa.ocpp.routing import on
from ncpa.ocpp.v201.base import Block

log = get_logger(__name__)


class DataTransferBlock(Block):
    @on("DataTransfer")
    async def on_data_transfer(self, vendor_id: str, **_: Any) -> call_result.DataTransfer:
        log.info("ocpp.data_transfer.unknown_vendor", vendor_id=vendor_id)
        return call_result.DataTransfer(status="UnknownVendorId")
