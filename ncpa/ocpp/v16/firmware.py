"""FirmwareManagement handlers, and the whitepaper's SignedUpdateFirmware and GetLog."""

from __future__ import annotations

from typing import Any

from ocpp.exceptions import PropertyConstraintViolationError
from ocpp.v16 import call_result

from ncpa.ocpp.certificates import CertificateError
from ncpa.ocpp.routing import on
from ncpa.ocpp.timeutil import parse_time, parse_time_or_none
from ncpa.ocpp.transfer import location_problem
from ncpa.ocpp.v16.base import Handlers


def refuse_location(url: str) -> None:
    """A location we cannot use: a CallError (these answers have no status to say no)."""
    problem = location_problem(url)
    if problem is not None:
        raise PropertyConstraintViolationError(
            description="unusable location", details={"cause": f"location: {problem}"}
        )


class FirmwareHandlers(Handlers):
    @on("UpdateFirmware")
    async def on_update_firmware(
        self,
        location: str,
        retrieve_date: str,
        retries: int | None = None,
        retry_interval: int | None = None,
        **_: Any,
    ) -> call_result.UpdateFirmware:
        refuse_location(location)
        fw = self.ctx.firmware
        if fw.busy:
            await fw.cancel()  # the newer request wins
        fw.start(
            location,
            parse_time(retrieve_date),
            retries if retries is not None else 0,
            60 if retry_interval is None else retry_interval,
        )
        return call_result.UpdateFirmware()

    @on("SignedUpdateFirmware")
    async def on_signed_update_firmware(
        self,
        request_id: int,
        firmware: dict[str, Any],
        retries: int | None = None,
        retry_interval: int | None = None,
        **_: Any,
    ) -> call_result.SignedUpdateFirmware:
        ctx = self.ctx
        if location_problem(firmware["location"]):
            return call_result.SignedUpdateFirmware(status="Rejected")
        try:
            cert = ctx.certs.verify_signing_certificate(firmware["signing_certificate"])
        except CertificateError as e:
            self.after_reply(ctx.security.event("InvalidFirmwareSigningCertificate", str(e)))
            return call_result.SignedUpdateFirmware(status="InvalidCertificate")
        fw = ctx.firmware
        status = "Accepted"
        if fw.busy:
            await fw.cancel()
            status = "AcceptedCanceled"
        fw.start(
            firmware["location"],
            parse_time(firmware["retrieve_date_time"]),
            retries if retries is not None else 0,
            60 if retry_interval is None else retry_interval,
            signed=(request_id, cert, firmware["signature"]),
        )
        return call_result.SignedUpdateFirmware(status=status)

    @on("GetDiagnostics")
    async def on_get_diagnostics(
        self,
        location: str,
        retries: int | None = None,
        retry_interval: int | None = None,
        start_time: str | None = None,
        stop_time: str | None = None,
        **_: Any,
    ) -> call_result.GetDiagnostics:
        refuse_location(location)
        name = await self.ctx.diagnostics.start_diagnostics(
            location,
            retries if retries is not None else 0,
            60 if retry_interval is None else retry_interval,
            parse_time_or_none(start_time),
            parse_time_or_none(stop_time),
        )
        return call_result.GetDiagnostics(file_name=name)

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
        if location_problem(log["remote_location"]):
            return call_result.GetLog(status="Rejected")
        name = await self.ctx.diagnostics.start_log(
            log_type,
            request_id,
            log["remote_location"],
            retries if retries is not None else 0,
            60 if retry_interval is None else retry_interval,
            parse_time_or_none(log.get("oldest_timestamp")),
            parse_time_or_none(log.get("latest_timestamp")),
        )
        return call_result.GetLog(status="Accepted", filename=name)
