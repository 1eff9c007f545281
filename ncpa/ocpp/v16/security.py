"""Security whitepaper certificate management handlers."""

from __future__ import annotations

from typing import Any

from ocpp.v16 import call_result

from ncpa.ocpp.certificate_requests import certificate_signed, delete_root, hash_of, install_root
from ncpa.ocpp.routing import on
from ncpa.ocpp.v16.base import Handlers


class SecurityHandlers(Handlers):
    @on("CertificateSigned")
    async def on_certificate_signed(
        self, certificate_chain: str, **_: Any
    ) -> call_result.CertificateSigned:
        ok = certificate_signed(self, certificate_chain)
        return call_result.CertificateSigned(status="Accepted" if ok else "Rejected")

    @on("InstallCertificate")
    async def on_install_certificate(
        self, certificate_type: str, certificate: str, **_: Any
    ) -> call_result.InstallCertificate:
        return call_result.InstallCertificate(
            status=install_root(self, certificate_type, certificate)
        )

    @on("GetInstalledCertificateIds")
    async def on_get_installed_certificate_ids(
        self, certificate_type: str, **_: Any
    ) -> call_result.GetInstalledCertificateIds:
        found = self.ctx.certs.installed(certificate_type)
        if not found:
            return call_result.GetInstalledCertificateIds(status="NotFound")
        return call_result.GetInstalledCertificateIds(
            status="Accepted", certificate_hash_data=[h.as_payload() for h in found]
        )

    @on("DeleteCertificate")
    async def on_delete_certificate(
        self, certificate_hash_data: dict[str, Any], **_: Any
    ) -> call_result.DeleteCertificate:
        status = delete_root(self, hash_of(certificate_hash_data))
        return call_result.DeleteCertificate(status=status)
