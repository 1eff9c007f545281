"""What CertificateSigned, InstallCertificate and DeleteCertificate do, for either version.

The 1.6 (security whitepaper) and 2.0.1 (block A, M) handlers differ only in their type
names and payload shapes; the decisions (what is accepted, what must never be deleted,
which security event is raised) live here, over the one certificate store.
"""

from __future__ import annotations

from typing import Any

from ncpa.log import get_logger
from ncpa.ocpp.certificates import CertificateError, HashData
from ncpa.ocpp.handler_base import HandlerBase

log = get_logger(__name__)

CSMS_ROOT = "CentralSystemRootCertificate"


def certificate_signed(handler: HandlerBase, chain: str) -> bool:
    """The chain for our pending CSR: kept (and used from the next connection) or refused."""
    ctx = handler.ctx
    if len(chain) > ctx.settings.get_int("CertificateSignedMaxChainSize"):
        return False
    try:
        ctx.certs.accept_signed(chain)
    except CertificateError as e:
        handler.after_reply(ctx.security.event("InvalidChargePointCertificate", str(e)))
        return False
    log.info("ocpp.certificate.signed")
    handler.after_reply(ctx.ops.certificate_installed())
    return True


def install_root(handler: HandlerBase, kind: str, pem: str) -> str:
    """Accepted | Rejected (not a valid CA certificate) | Failed (the store is full)."""
    try:
        handler.ctx.certs.install(kind, pem)
    except CertificateError as e:
        log.warning("ocpp.certificate.install_rejected", type=kind, reason=str(e))
        return "Failed" if "full" in str(e) else "Rejected"
    log.info("ocpp.certificate.installed", type=kind)
    return "Accepted"


def hash_of(payload: dict[str, Any]) -> HashData:
    return HashData(
        payload["hash_algorithm"],
        payload["issuer_name_hash"],
        payload["issuer_key_hash"],
        payload["serial_number"],
    )


def delete_root(handler: HandlerBase, wanted: HashData) -> str:
    """Accepted | NotFound | Failed (the last CSMS root the connection depends on)."""
    ctx = handler.ctx
    kind = ctx.certs.kind_of(wanted)
    if kind is None:
        return "NotFound"
    last = kind == CSMS_ROOT and len(ctx.certs.installed(CSMS_ROOT)) == 1
    if last and ctx.ops.uses_installed_csms_root():
        # the connection depends on it: deleting it would cut the charge point off
        return "Failed"
    deleted, _kind = ctx.certs.delete(wanted)
    return "Accepted" if deleted else "NotFound"
