"""Make QR tokens: what the auth server does, for the `ncpa qr` tool and the
developer route /development/qr-gen. The private issuer key never reaches a
production charger; the development key lives in certs/dev."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ncpa.api.envelope import load_secret, seal

IssuerPrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Wifi:
    ssid: str
    password: str
    type: str = "wpa2"
    hidden: bool = False

    def claim(self) -> dict[str, Any]:
        return {
            "ssid": self.ssid,
            "password": self.password,
            "type": self.type,
            "hidden": self.hidden,
        }


def load_issuer_private_key(data: bytes) -> tuple[IssuerPrivateKey, str]:
    """(key, algorithm): RSA -> RS256, EC P-256 -> ES256."""
    key = serialization.load_pem_private_key(data, password=None)
    if isinstance(key, rsa.RSAPrivateKey):
        return key, "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key, "ES256"
    raise ValueError("issuer key: expected an RSA or EC P-256 private key")


def inner_jwt(
    key: IssuerPrivateKey,
    algorithm: str,
    charge_point_id: str,
    role: str,
    issuer: str = "TNM Auth server",
    wifi: Wifi | None = None,
    expires_in: float | None = None,
    one_time: bool = False,
    now: float | None = None,
) -> str:
    now = time.time() if now is None else now
    claims: dict[str, Any] = {"iss": issuer, "sub": charge_point_id, "aud": role, "iat": int(now)}
    if expires_in is not None:
        claims["exp"] = int(now + expires_in)
    if one_time:
        claims["jti"] = uuid.uuid4().hex
    if wifi is not None:
        claims["wifi"] = wifi.claim()
    return jwt.encode(claims, key, algorithm=algorithm)


def qr_token(key_pem: bytes, secret: bytes, charge_point_id: str, role: str, **kwargs: Any) -> str:
    """The sealed token printed on the label."""
    key, alg = load_issuer_private_key(key_pem)
    return seal(inner_jwt(key, alg, charge_point_id, role, **kwargs), secret, charge_point_id)


def read_secret_file(path: Path) -> bytes:
    return load_secret(path.read_text())
