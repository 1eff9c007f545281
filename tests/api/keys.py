"""Key material and token makers for the API tests (the tests' own auth server)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ncpa.api.envelope import b64url, seal

ISSUER = "TNM Auth server"
CP_ID = "CP-TEST-1"


def pem_private(key: Any) -> bytes:
    return bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def pem_public(key: Any) -> bytes:
    return bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


@dataclass
class AuthServer:
    """Issuer keys (current, next, and one never pinned) and the shared secret."""

    secret: bytes = b"\x11" * 32
    es: Any = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    es_next: Any = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    rs: Any = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    stranger: Any = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    def write(self, folder: Path) -> Path:
        """A keys_dir as the daemon expects it (current + next pinned, RSA as a third)."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "qr-issuer.pem").write_bytes(pem_public(self.es))
        (folder / "qr-issuer-next.pem").write_bytes(pem_public(self.es_next))
        (folder / "qr-issuer-rsa.pem").write_bytes(pem_public(self.rs))
        (folder / "qr-shared-secret").write_text(self.secret.hex() + "\n")
        return folder

    def pinned_paths(self, folder: Path) -> list[str]:
        return [
            str(folder / n) for n in ("qr-issuer.pem", "qr-issuer-next.pem", "qr-issuer-rsa.pem")
        ]

    def claims(self, role: str = "installer", **over: Any) -> dict[str, Any]:
        c: dict[str, Any] = {"iss": ISSUER, "sub": CP_ID, "aud": role, "iat": int(time.time())}
        c["wifi"] = {"ssid": "ncpa-hotspot", "password": "pw", "type": "wpa2", "hidden": True}
        c.update(over)
        return {k: v for k, v in c.items() if v is not None}

    def inner(
        self, role: str = "installer", key: Any = None, alg: str = "ES256", **over: Any
    ) -> str:
        return jwt.encode(self.claims(role, **over), key or self.es, algorithm=alg)

    def token(self, role: str = "installer", **over: Any) -> str:
        return seal(self.inner(role, **over), self.secret, CP_ID)

    def sealed(self, inner: str, cp_id: str = CP_ID) -> str:
        return seal(inner, self.secret, cp_id)


def unsigned_jwt(claims: dict[str, Any], header: dict[str, Any]) -> tuple[str, str]:
    h = b64url(json.dumps(header).encode())
    p = b64url(json.dumps(claims).encode())
    return h, p


def alg_none_jwt(claims: dict[str, Any]) -> str:
    h, p = unsigned_jwt(claims, {"alg": "none", "typ": "JWT"})
    return f"{h}.{p}."


def hs256_with_public_key(claims: dict[str, Any], public_pem: bytes) -> str:
    """The algorithm-confusion attack: HMAC keyed with the (public) verification key."""
    h, p = unsigned_jwt(claims, {"alg": "HS256", "typ": "JWT"})
    sig = hmac.new(public_pem, f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{b64url(sig)}"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
