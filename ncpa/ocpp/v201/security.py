"""A Security (and M certificate management) under 2.0.1: CertificateSigned,
InstallCertificate, DeleteCertificate, GetInstalledCertificateIds over the one certificate
store that 1.6 uses, and the 2.0.1 names of the security events.

The store keeps the 1.6 type names: CSMSRootCertificate is CentralSystemRootCertificate,
ManufacturerRootCertificate is the same. Without ISO 15118 there is nothing to do with
V2G or MO certificates: installing one is Rejected (NotSupported), none is ever listed.
"""

from __future__ import annotations

from typing import Any

from ocpp.v201 import call_result

from ncpa.ocpp.certificate_requests import certificate_signed, delete_root, hash_of, install_root
from ncpa.ocpp.routing import on
from ncpa.ocpp.v201.base import Block

# 2.0.1 certificate use -> the store's type
STORE_TYPES = {
    "CSMSRootCertificate": "CentralSystemRootCertificate",
    "ManufacturerRootCertificate": "ManufacturerRootCertificate",
}

# the security log keeps the whitepaper's (1.6) names; 2.0.1 Part 2 appendix 1 renames these
EVENT_NAMES = {
    "FailedToAuthenticateAtCentralSystem": "FailedToAuthenticateAtCsms",
    "CentralSystemFailedToAuthenticate": "CsmsFailedToAuthenticate",
    "InvalidCentralSystemCertificate": "InvalidCsmsCertificate",
    "InvalidChargePointCertificate": "InvalidChargingStationCertificate",
}


def not_supported(what: str) -> dict[str, str]:
    return {"reason_code": "NotSupported", "additional_info": what[:512]}


class SecurityBlock(Block):
    @on("CertificateSigned")
    async def on_certificate_signed(
        self, certificate_chain: str, certificate_type: str | None = None, **_: Any
    ) -> call_result.CertificateSigned:
        if certificate_type not in (None, "ChargingStationCertificate"):
            return call_result.CertificateSigned(
                status="Rejected", status_info=not_supported("no ISO 15118 (V2G) certificate")
            )
        ok = certificate_signed(self, certificate_chain)
        return call_result.CertificateSigned(status="Accepted" if ok else "Rejected")

    @on("InstallCertificate")
    async def on_install_certificate(
        self, certificate_type: str, certificate: str, **_: Any
    ) -> call_result.InstallCertificate:
        kind = STORE_TYPES.get(certificate_type)
        if kind is None:
            return call_result.InstallCertificate(
                status="Rejected", status_info=not_supported(f"{certificate_type}: no ISO 15118")
            )
        return call_result.InstallCertificate(status=install_root(self, kind, certificate))

    @on("GetInstalledCertificateIds")
    async def on_get_installed_certificate_ids(
        self, certificate_type: list[str] | None = None, **_: Any
    ) -> call_result.GetInstalledCertificateIds:
        wanted = certificate_type or list(STORE_TYPES)
        chain = [
            {"certificate_type": use, "certificate_hash_data": h.as_payload()}
            for use in wanted
            if use in STORE_TYPES
            for h in self.ctx.certs.installed(STORE_TYPES[use])
        ]
        if not chain:
            return call_result.GetInstalledCertificateIds(status="NotFound")
        return call_result.GetInstalledCertificateIds(
            status="Accepted", certificate_hash_data_chain=chain
        )

    @on("DeleteCertificate")
    async def on_delete_certificate(
        self, certificate_hash_data: dict[str, Any], **_: Any
    ) -> call_result.DeleteCertificate:
        status = delete_root(self, hash_of(certificate_hash_data))
        return call_result.DeleteCertificate(status=status)
