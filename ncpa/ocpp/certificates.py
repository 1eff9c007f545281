"""The charge point's certificates (security whitepaper ed. 3): installed roots, its own
key and certificate, CSRs, and the checks for signed firmware.

Files live in <data_dir>/ocpp/certs: `<type>-<sha256>.pem` for installed roots,
`cp.key`/`cp.pem` for the charge point certificate (profile 3), `cp-pending.key`
while a CSR waits for CertificateSigned.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

ROOT_TYPES = ("CentralSystemRootCertificate", "ManufacturerRootCertificate")


class CertificateError(ValueError):
    """A certificate is malformed, expired, or does not match; the message says which."""


@dataclass(frozen=True)
class HashData:
    hash_algorithm: str
    issuer_name_hash: str
    issuer_key_hash: str
    serial_number: str

    def as_payload(self) -> dict[str, str]:
        return {
            "hash_algorithm": self.hash_algorithm,
            "issuer_name_hash": self.issuer_name_hash,
            "issuer_key_hash": self.issuer_key_hash,
            "serial_number": self.serial_number,
        }


def load_chain(pem: str) -> list[x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(pem.encode())
    except ValueError as e:
        raise CertificateError(f"not a PEM certificate: {e}") from e
    if not certs:
        raise CertificateError("no certificate in the PEM data")
    return certs


_HASHES = {"SHA256": hashlib.sha256, "SHA384": hashlib.sha384, "SHA512": hashlib.sha512}


def hash_data(cert: x509.Certificate, algorithm: str = "SHA256") -> HashData:
    """OCPP CertificateHashData of a self-signed root (SHA256, or as the CSMS names it)."""
    digest = _HASHES.get(algorithm, hashlib.sha256)
    name_hash = digest(cert.issuer.public_bytes()).hexdigest()
    key = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    alg = algorithm if algorithm in _HASHES else "SHA256"
    return HashData(alg, name_hash, digest(key).hexdigest(), f"{cert.serial_number:x}")


def _matches(cert: x509.Certificate, wanted: HashData) -> bool:
    h = hash_data(cert, wanted.hash_algorithm)
    return (h.issuer_name_hash, h.issuer_key_hash, h.serial_number.lstrip("0")) == (
        wanted.issuer_name_hash.lower(),
        wanted.issuer_key_hash.lower(),
        wanted.serial_number.lower().lstrip("0"),
    )


def _valid_now(cert: x509.Certificate) -> None:
    now = datetime.now(UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise CertificateError("certificate is not valid now (expired or not yet valid)")


def _verify_signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> None:
    if cert.issuer != issuer.subject:
        raise CertificateError("certificate was not issued by this root")
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError) as e:
        raise CertificateError(f"signature of the certificate does not verify: {e}") from e


class CertificateStore:
    def __init__(self, directory: Path, max_roots: int = 20) -> None:
        self.dir = directory
        self.max_roots = max_roots

    def _ensure(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)

    # -- roots --------------------------------------------------------------------------

    def roots(self, kind: str) -> list[tuple[Path, x509.Certificate]]:
        out = []
        for path in sorted(self.dir.glob(f"{kind}-*.pem")):
            out.append((path, load_chain(path.read_text())[0]))
        return out

    def install(self, kind: str, pem: str) -> None:
        """InstallCertificate; raises CertificateError (nothing written) if it is not a valid
        CA certificate, or if the store is full."""
        if kind not in ROOT_TYPES:
            raise CertificateError(f"unknown certificate type {kind!r}")
        cert = load_chain(pem)[0]
        _valid_now(cert)
        try:
            ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            ca = False
        if not ca:
            raise CertificateError("not a CA certificate")
        total = sum(len(self.roots(k)) for k in ROOT_TYPES)
        if total >= self.max_roots:
            raise CertificateError("certificate store is full")
        self._ensure()
        fp = cert.fingerprint(hashes.SHA256()).hex()[:32]
        (self.dir / f"{kind}-{fp}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    def installed(self, kind: str) -> list[HashData]:
        return [hash_data(c) for _, c in self.roots(kind)]

    def kind_of(self, wanted: HashData) -> str | None:
        """The type of the installed root with this hash, None when there is none."""
        for kind in ROOT_TYPES:
            if any(_matches(cert, wanted) for _, cert in self.roots(kind)):
                return kind
        return None

    def delete(self, wanted: HashData) -> tuple[bool, str]:
        """(deleted, kind of the deleted root)."""
        for kind in ROOT_TYPES:
            for path, cert in self.roots(kind):
                if _matches(cert, wanted):
                    path.unlink()
                    return True, kind
        return False, ""

    def root_files(self, kind: str) -> list[str]:
        return [str(p) for p, _ in self.roots(kind)]

    # -- the charge point certificate ----------------------------------------------------

    @property
    def cp_cert(self) -> Path:
        return self.dir / "cp.pem"

    @property
    def cp_key(self) -> Path:
        return self.dir / "cp.key"

    @property
    def csr_pending(self) -> bool:
        """A CSR was made and no CertificateSigned has taken its key yet."""
        return (self.dir / "cp-pending.key").exists()

    def make_csr(self, common_name: str, organization: str) -> str:
        """A new key (kept as cp-pending.key) and its CSR in PEM."""
        key = ec.generate_private_key(ec.SECP256R1())
        attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
        if organization:
            attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name(attrs))
            .sign(key, hashes.SHA256())
        )
        self._ensure()
        pending = self.dir / "cp-pending.key"
        pending.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        os.chmod(pending, 0o600)
        return csr.public_bytes(serialization.Encoding.PEM).decode()

    def accept_signed(self, chain_pem: str) -> None:
        """CertificateSigned: the chain's first certificate must be for the pending key."""
        pending = self.dir / "cp-pending.key"
        if not pending.exists():
            raise CertificateError("no certificate signing request is pending")
        chain = load_chain(chain_pem)
        leaf = chain[0]
        _valid_now(leaf)
        key = serialization.load_pem_private_key(pending.read_bytes(), None)
        if leaf.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ) != key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ):
            raise CertificateError("certificate does not match the key of the CSR")
        for cert, issuer in itertools.pairwise(chain):
            _verify_signed_by(cert, issuer)
        self.cp_cert.write_text(chain_pem)
        pending.replace(self.cp_key)

    # -- signed firmware ------------------------------------------------------------------

    def verify_signing_certificate(self, pem: str) -> x509.Certificate:
        """The firmware signing certificate must be issued by an installed manufacturer root."""
        cert = load_chain(pem)[0]
        _valid_now(cert)
        roots = self.roots("ManufacturerRootCertificate")
        if not roots:
            raise CertificateError("no ManufacturerRootCertificate installed")
        for _, root in roots:
            try:
                _verify_signed_by(cert, root)
                return cert
            except CertificateError:
                continue
        raise CertificateError("signing certificate not issued by an installed manufacturer root")


def verify_firmware(cert: x509.Certificate, data: bytes, signature_b64: str) -> None:
    """Raise CertificateError unless `signature_b64` is the signature of `data` (SHA256)."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except ValueError as e:
        raise CertificateError("signature is not base64") from e
    key = cert.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise CertificateError("unsupported key type in the signing certificate")
    except InvalidSignature as e:
        raise CertificateError("firmware signature does not verify") from e
