"""Generate the development keys that the simulator and the tests trust.

Never used on a real charger: production keys are provisioned per device.
Writes into the folder given (default certs/dev), keeping keys that exist.

- qr-issuer.key / qr-issuer.pem: ES256 key of the development QR auth server
- qr-issuer-next.key / qr-issuer-next.pem: the next issuer key (pinned as well, as during
  a key rotation, so labels signed with either are accepted)
- qr-shared-secret: the secret that seals the QR envelope (hex)
- vendor-signing.key / vendor-signing.pem: Ed25519 key that signs update bundles
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes


def _write_keypair(folder: Path, name: str, key: PrivateKeyTypes) -> None:
    priv = folder / f"{name}.key"
    if priv.exists():
        return
    priv.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    priv.chmod(0o600)
    (folder / f"{name}.pem").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def main(argv: list[str]) -> int:
    folder = Path(argv[1] if len(argv) > 1 else Path(__file__).parent / "dev")
    folder.mkdir(parents=True, exist_ok=True)
    _write_keypair(folder, "qr-issuer", ec.generate_private_key(ec.SECP256R1()))
    _write_keypair(folder, "qr-issuer-next", ec.generate_private_key(ec.SECP256R1()))
    _write_keypair(folder, "vendor-signing", ed25519.Ed25519PrivateKey.generate())
    secret = folder / "qr-shared-secret"
    if not secret.exists():
        secret.write_text(secrets.token_hex(32) + "\n")
        secret.chmod(0o600)
    print(f"development keys in {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
