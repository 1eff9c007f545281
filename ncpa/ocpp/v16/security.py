"""Security whitepaper certificate management handlers."""

from __future__ import annotations

from typing import Any

from ocpp.v16 import call_result

from ncpa.log import get_logger
from ncpa.ocpp.certificates import CertificateError, HashData
from ncpa.ocpp.routing import on
from ncpa.ocpp.v16.base import Handlers

log = get_logger(__name__)


class SecurityHandlers(Handlers):
    @on("CertificateSigned")
    async def on_certificate_signed(
        self, certificate_chain: str, **_: Any
    ) -> call_result.CertificateSigned:
        ctx = self.ctx
        if len(certificate_chain) > ctx.settings.get_int("CertificateSignedMaxChainSize"):
            return call_result.CertificateSigned(status="Rejected")
        try:
            ctx.certs.accept_signed(certificate_chain)
        except CertificateError as e:
            self.after_reply(ctx.security.event("InvalidChargePointCertificate", str(e)))
            return call_result.CertificateSigned(status="Rejected")
        log.info("ocpp.certificate.signed")
        self.after_reply(ctx.ops.certificate_installed())
        return call_result.CertificateSigned(status="Accepted")

    @on("InstallCertificate")
    async def on_install_certificate(
        self, certificate_type: str, certificate: str, **_: Any
    ) -> call_result.InstallCertificate:
        try:
            self.ctx.certs.install(certificate_type, certificate)
        except CertificateError as e:
            log.warning("ocpp.certificate.install_rejected", reason=str(e))
            full = "full" in str(e)
            return call_result.InstallCertificate(status="Failed" if full else "Rejected")
        return call_result.InstallCertificate(status="Accepted")

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
        ctx = self.ctx
        wanted = HashData(
            certificate_hash_data["hash_algorithm"],
            certificate_hash_data["issuer_name_hash"],
            certificate_hash_data["issuer_key_hash"],
            certificate_hash_data["serial_number"],
        )
        roots = ctx.certs.installed("CentralSystemRootCertificate")
        is_last_csms_root = len(roots) == 1 and _same(roots[0], wanted)
        if is_last_csms_root and ctx.ops.uses_installed_csms_root():
            # the connection depends on it: deleting it would cut the charge point off
            return call_result.DeleteCertificate(status="Failed")
        deleted, _kind = ctx.certs.delete(wanted)
        return call_result.DeleteCertificate(status="Accepted" if deleted else "NotFound")


def _same(a: HashData, b: HashData) -> bool:
    return (a.issuer_name_hash, a.issuer_key_hash, a.serial_number.lstrip("0")) == (
        b.issuer_name_hash.lower(),
        b.issuer_key_hash.lower(),
        b.serial_number.lower().lstrip("0"),
    )
