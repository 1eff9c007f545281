"""N Diagnostics under 2.0.1: GetLog (DiagnosticsLog, SecurityLog) and its
LogStatusNotification (Uploading, Uploaded / UploadFailure, Idle), through the collector
and uploader that 1.6 uses (ncpa/ocpp/diagnostics.py). A newer GetLog cancels the upload
under way (AcceptedCanceled)."""

from __future__ import annotations

from typing import Any

from ocpp.v201 import call_result

from ncpa.log import get_logger
from ncpa.ocpp.routing import on
from ncpa.ocpp.timeutil import parse_time_or_none
from ncpa.ocpp.transfer import location_problem
from ncpa.ocpp.v201.base import Block
from ncpa.ocpp.v201.firmware import DEFAULT_RETRY_INTERVAL

log = get_logger(__name__)


class DiagnosticsBlock(Block):
    @on("GetLog")
    async def on_get_log(
        self,
        log: dict[str, Any],
        log_type: str,
        request_id: int,
        retries: int | None = None,
        retry_interval: int | None = None,
        **_: Any,
    ) -> call_result.GetLog:
        problem = location_problem(log["remote_location"])
        if problem is not None:
            return call_result.GetLog(
                status="Rejected",
                status_info={"reason_code": "InvalidURL", "additional_info": problem},
            )
        diagnostics = self.ctx.diagnostics
        status = "Accepted"
        if diagnostics.log_busy:
            await diagnostics.cancel_log()
            status = "AcceptedCanceled"
        name = await diagnostics.start_log(
            log_type,
            request_id,
            log["remote_location"],
            retries if retries is not None else 0,
            DEFAULT_RETRY_INTERVAL if retry_interval is None else retry_interval,
            parse_time_or_none(log.get("oldest_timestamp")),
            parse_time_or_none(log.get("latest_timestamp")),
        )
        return call_result.GetLog(status=status, filename=name)
