"""Access tokens: short-lived JWTs signed by the device's own key.

The key is generated on first start in the data directory (Ed25519, or an
existing EC P-256 key for ES256) and never leaves the device: only this charger
can issue or check its access tokens, so a token from one charger is worthless
on another.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

KEY_FILE = "access-token.key"
VERIFIED_CACHE_SIZE = 256
AUDIENCE = "ncpa-local-api"
_CLAIM_TYPES: dict[str, type] = {
    "iss": str, "aud": str, "sub": str, "role": str, "iat": int, "exp": int, "jti": str
}  # fmt: skip
DeviceKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey


class TokenError(ValueError):
    """The access token is missing, malformed, expired or not ours."""


@dataclass(frozen=True)
class AccessClaims:
    role: str
    client_id: str
    expires_at: int
    jti: str


def write_private_key(path: Path, key: Any) -> None:
    """PEM PKCS8, mode 0600 from the start (never world-readable, not even briefly)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def load_or_create_device_key(folder: Path) -> DeviceKey:
    path = folder / KEY_FILE
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key
        if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
            return key
        raise ValueError(f"{path}: expected an Ed25519 or EC P-256 private key")
    new = ed25519.Ed25519PrivateKey.generate()
    write_private_key(path, new)
    return new


class TokenIssuer:
    def __init__(self, key: DeviceKey, charge_point_id: str, ttl_s: float) -> None:
        self._key = key
        self._public = key.public_key()
        self.algorithm = "EdDSA" if isinstance(key, ed25519.Ed25519PrivateKey) else "ES256"
        self.issuer = charge_point_id
        self.ttl_s = ttl_s
        # tokens already verified, until they expire: a signature check is most of a request's
        # cost, and a phone repeats the same token for its 15 minutes (bounded, oldest out)
        self._verified: OrderedDict[str, AccessClaims] = OrderedDict()

    def issue(self, role: str, client_id: str, now: float | None = None) -> str:
        now = time.time() if now is None else now
        claims = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": client_id,
            "role": role,
            "iat": int(now),
            "exp": int(now + self.ttl_s),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._key, algorithm=self.algorithm)

    def verify(self, token: str) -> AccessClaims:
        known = self._verified.get(token)
        if known is not None:
            if time.time() < known.expires_at:
                self._verified.move_to_end(token)
                return known
            del self._verified[token]
        claims = self._verify(token)
        self._verified[token] = claims
        if len(self._verified) > VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return claims

    def _verify(self, token: str) -> AccessClaims:
        try:
            claims = jwt.decode(
                token,
                key=self._public,
                algorithms=[self.algorithm],  # never what the header says
                audience=AUDIENCE,
                issuer=self.issuer,
                options={"require": ["iss", "aud", "sub", "role", "iat", "exp", "jti"]},
            )
        except jwt.ExpiredSignatureError as e:
            raise TokenError("access token expired") from e
        except jwt.PyJWTError as e:
            raise TokenError(f"access token invalid: {e}") from e
        # PyJWT takes any int()-able exp/iat ("1796145627" too): each claim has its JSON type
        for name, kind in _CLAIM_TYPES.items():
            value = claims[name]
            if not isinstance(value, kind) or isinstance(value, bool):
                raise TokenError(f"access token invalid: {name} must be a JSON {kind.__name__}")
        return AccessClaims(claims["role"], claims["sub"], claims["exp"], claims["jti"])
