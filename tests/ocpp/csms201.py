"""A real OCPP 2.0.1 central system for the tests: the ocpp library's v201 CSMS side, with
the same quirks and records as the 1.6 one (tests/ocpp/csms.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ocpp.routing import on
from ocpp.v201 import ChargePoint as LibChargePoint201
from ocpp.v201 import call_result

from tests.ocpp.csms import Csms, CsmsRouting, Quirks, now_iso


class CsmsSide201(CsmsRouting, LibChargePoint201):  # type: ignore[misc]
    @on("BootNotification")
    def on_boot(self, **_: Any) -> call_result.BootNotification:
        return call_result.BootNotification(**self.boot_answer())

    @on("Heartbeat")
    def on_heartbeat(self, **_: Any) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=self.csms.quirks.current_time())

    @on("StatusNotification")
    def on_status(self, **_: Any) -> call_result.StatusNotification:
        return call_result.StatusNotification()

    def id_token_info(self, token: str) -> dict[str, Any]:
        """The status the quirks give, and what the test adds (groupIdToken, expiry)."""
        csms = self.csms
        extra = csms.token_info(token) if csms.token_info is not None else {}
        return {"status": csms.quirks.id_tag_status(token), **extra}

    @on("Authorize")
    def on_authorize(self, id_token: dict[str, Any], **_: Any) -> call_result.Authorize:
        return call_result.Authorize(id_token_info=self.id_token_info(id_token["id_token"]))

    @on("TransactionEvent")
    def on_transaction_event(
        self, event_type: str, id_token: dict[str, Any] | None = None, **_: Any
    ) -> call_result.TransactionEvent:
        if event_type == "Started":
            self.csms.starts += 1
        if id_token is not None:
            info = self.id_token_info(id_token["id_token"])
            return call_result.TransactionEvent(id_token_info=info)
        return call_result.TransactionEvent()

    @on("MeterValues")
    def on_meter_values(self, **_: Any) -> call_result.MeterValues:
        return call_result.MeterValues()

    @on("NotifyReport")
    def on_notify_report(self, **_: Any) -> call_result.NotifyReport:
        return call_result.NotifyReport()

    @on("NotifyEvent")
    def on_notify_event(self, **_: Any) -> call_result.NotifyEvent:
        return call_result.NotifyEvent()

    @on("NotifyMonitoringReport")
    def on_notify_monitoring_report(self, **_: Any) -> call_result.NotifyMonitoringReport:
        return call_result.NotifyMonitoringReport()

    @on("NotifyChargingLimit")
    def on_notify_charging_limit(self, **_: Any) -> call_result.NotifyChargingLimit:
        return call_result.NotifyChargingLimit()

    @on("ClearedChargingLimit")
    def on_cleared_charging_limit(self, **_: Any) -> call_result.ClearedChargingLimit:
        return call_result.ClearedChargingLimit()

    @on("ReportChargingProfiles")
    def on_report_charging_profiles(self, **_: Any) -> call_result.ReportChargingProfiles:
        return call_result.ReportChargingProfiles()

    @on("ReservationStatusUpdate")
    def on_reservation_status(self, **_: Any) -> call_result.ReservationStatusUpdate:
        return call_result.ReservationStatusUpdate()

    @on("SecurityEventNotification")
    def on_security_event(self, **_: Any) -> call_result.SecurityEventNotification:
        return call_result.SecurityEventNotification()

    @on("FirmwareStatusNotification")
    def on_fw_status(self, **_: Any) -> call_result.FirmwareStatusNotification:
        return call_result.FirmwareStatusNotification()

    @on("LogStatusNotification")
    def on_log_status(self, **_: Any) -> call_result.LogStatusNotification:
        return call_result.LogStatusNotification()

    @on("SignCertificate")
    def on_sign_certificate(self, csr: str, **_: Any) -> call_result.SignCertificate:
        self.csms.csrs.append(csr)
        return call_result.SignCertificate(status="Accepted")

    @on("DataTransfer")
    def on_data_transfer(
        self, vendor_id: str, data: Any = None, **_: Any
    ) -> call_result.DataTransfer:
        if vendor_id != "org.ncpa":
            return call_result.DataTransfer(status="UnknownVendorId")
        return call_result.DataTransfer(status="Accepted", data=data)  # echoed


class Csms201(Csms):
    side_class = CsmsSide201

    def __init__(self, quirks: Quirks | None = None, **kw: Any) -> None:
        quirks = quirks or Quirks(subprotocols=["ocpp2.0.1"])
        super().__init__(quirks, **kw)
        # token -> idTokenInfo fields beside the status (groupIdToken, cacheExpiryDateTime)
        self.token_info: Callable[[str], dict[str, Any]] | None = None


__all__ = ["Csms201", "CsmsSide201", "now_iso"]
