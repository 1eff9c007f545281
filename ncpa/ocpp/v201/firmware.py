"""L Firmware under 2.0.1: UpdateFirmware, always signed (L01), through the firmware manager
that 1.6 uses (ncpa/ocpp/firmware.py) and its installer (the release slots of
ncpa/updates when the daemon runs it).

FirmwareStatusNotification then says DownloadScheduled (retrieveDateTime ahead),
Downloading, Downloaded or DownloadFailed, SignatureVerified or InvalidSignature,
InstallScheduled (installDateTime ahead), Installing, then InstallRebooting and, from
the new release after a BootNotification with reason FirmwareUpdate, Installed (or
InstallVerificationFailed when the boot check rolled it back); InstallationFailed when
the installer refuses the image. A second request cancels the first (AcceptedCanceled).
"""

from __future__ import annotations

from typing import Any

from ocpp.v201 import call_result

from ncpa.log import get_logger
from ncpa.ocpp.certificates import CertificateError
from ncpa.ocpp.routing import on
from ncpa.ocpp.timeutil import parse_time, parse_time_or_none
from ncpa.ocpp.transfer import location_problem
from ncpa.ocpp.v201.base import Block

log = get_logger(__name__)

DEFAULT_RETRY_INTERVAL = 60  # seconds, when the CSMS names none


class FirmwareBlock(Block):
    @on("UpdateFirmware")
    async def on_update_firmware(
        self,
        request_id: int,
        firmware: dict[str, Any],
        retries: int | None = None,
        retry_interval: int | None = None,
        **_: Any,
    ) -> call_result.UpdateFirmware:
        ctx = self.ctx
        problem = location_problem(firmware["location"])
        if problem is not None:
            return call_result.UpdateFirmware(
                status="Rejected",
                status_info={"reason_code": "InvalidURL", "additional_info": problem},
            )
        pem, signature = firmware.get("signing_certificate"), firmware.get("signature")
        if not pem or not signature:
            # this agent installs signed firmware only (security profile or not)
            why = "signingCertificate and signature are required"
            self.after_reply(ctx.security.event("InvalidFirmwareSigningCertificate", why))
            return call_result.UpdateFirmware(
                status="InvalidCertificate",
                status_info={"reason_code": "UnsignedFirmware", "additional_info": why},
            )
        try:
            cert = ctx.certs.verify_signing_certificate(pem)
        except CertificateError as e:
            self.after_reply(ctx.security.event("InvalidFirmwareSigningCertificate", str(e)))
            return call_result.UpdateFirmware(
                status="InvalidCertificate",
                status_info={"reason_code": "InvalidCertificate", "additional_info": str(e)[:512]},
            )
        fw = ctx.firmware
        if fw.busy and fw.status in ("Installing", "InstallRebooting"):
            # an image half installed is not abandoned: ask again once it is done
            info = {"reason_code": "InstallInProgress"}
            return call_result.UpdateFirmware(status="Rejected", status_info=info)
        status = "Accepted"
        if fw.busy:
            await fw.cancel()  # L01.FR.24: the newer request wins
            status = "AcceptedCanceled"
        log.info("ocpp.firmware.update", request_id=request_id, status=status)
        fw.start(
            firmware["location"],
            parse_time(firmware["retrieve_date_time"]),
            retries if retries is not None else 0,
            DEFAULT_RETRY_INTERVAL if retry_interval is None else retry_interval,
            signed=(request_id, cert, signature),
            install_ts=parse_time_or_none(firmware.get("install_date_time")),
        )
        return call_result.UpdateFirmware(status=status)
