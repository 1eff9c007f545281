"""Pairing: open a QR token and verify the inner JWT of the auth server.

The inner JWT must be signed RS256 or ES256 by one of the pinned issuer keys
(two are pinned during a key rotation), name this charge point as `sub`, carry
the configured `iss`, and an `aud` that is a role this device grants. `alg=none`,
HMAC algorithms (the classic "HS256 signed with the public key" confusion) and
keys of the wrong type for the header's algorithm are refused before any
signature check. A `jti` is accepted once: it is persisted in the store.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ncpa import clock
from ncpa.api.envelope import EnvelopeError, open_envelope
from ncpa.store import Store

ALLOWED_ALGORITHMS = ("RS256", "ES256")
ROLES = ("operator", "installer", "developer")
# clock skew tolerated between the auth server and a charger that has been offline
IAT_LEEWAY_S = 300
MIN_RSA_BITS = 2048
MAX_EPOCH_S = 253_402_300_799  # 9999-12-31T23:59:59Z

IssuerKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

_MIGRATIONS = [
    """
    CREATE TABLE api_qr_jti (
        jti     TEXT PRIMARY KEY,
        seen_ts REAL NOT NULL,
        exp_ts  REAL
    );
    """,
]


class PairingError(ValueError):
    """The QR token is refused; the message says why (safe to show the caller)."""


def load_issuer_key(data: bytes, name: str = "issuer key") -> IssuerKey:
    """A PEM public key or certificate: RSA >= 2048 bits or EC P-256."""
    try:
        if b"BEGIN CERTIFICATE" in data:
            key: Any = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except ValueError as e:
        raise ValueError(f"{name}: not a PEM public key or certificate") from e
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise ValueError(f"{name}: RSA key shorter than {MIN_RSA_BITS} bits")
        return key
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise ValueError(f"{name}: only RSA (RS256) and EC P-256 (ES256) keys are accepted")


def load_issuer_keys(paths: Iterable[Path]) -> list[IssuerKey]:
    return [load_issuer_key(p.read_bytes(), str(p)) for p in paths]


def _key_fits(key: IssuerKey, alg: str) -> bool:
    if alg == "RS256":
        return isinstance(key, rsa.RSAPublicKey)
    return isinstance(key, ec.EllipticCurvePublicKey)


@dataclass(frozen=True)
class QrClaims:
    role: str
    issuer: str
    charge_point_id: str
    issued_at: int
    expires_at: int | None
    jti: str | None
    wifi: dict[str, Any] | None = None


@dataclass
class PairingPolicy:
    charge_point_id: str
    secret: bytes
    issuer_keys: Sequence[IssuerKey]
    issuers: Sequence[str] = ("TNM Auth server",)
    roles: Sequence[str] = ("operator", "installer")
    iat_leeway_s: float = IAT_LEEWAY_S
    # ignored claims are fine; these must be there
    required: tuple[str, ...] = field(default=("iss", "sub", "aud", "iat"))


class JtiRegistry:
    """QR token ids already used, persisted so a restart does not reopen the window."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def migrate(self) -> None:
        await self.store.migrate("api", _MIGRATIONS)

    async def claim(self, jti: str, exp_ts: float | None, now: float) -> bool:
        """Record jti; False when it was seen before. Expired entries are purged."""

        def _claim(conn: sqlite3.Connection) -> bool:
            # an expired token fails its exp check anyway: its jti need not be kept
            conn.execute("DELETE FROM api_qr_jti WHERE exp_ts IS NOT NULL AND exp_ts < ?", (now,))
            cur = conn.execute(
                "INSERT OR IGNORE INTO api_qr_jti(jti, seen_ts, exp_ts) VALUES (?, ?, ?)",
                (jti, now, exp_ts),
            )
            return cur.rowcount == 1

        return await self.store.call(_claim)


def verify_inner_jwt(token: str, policy: PairingPolicy, now: float | None = None) -> QrClaims:
    """Check signature and claims (not the jti: see `pair`). Raises PairingError."""
    now = clock.now() if now is None else now  # the CSMS's time when NTP never synced
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as e:
        raise PairingError("QR token: inner JWT is malformed") from e
    alg = header.get("alg")
    if alg not in ALLOWED_ALGORITHMS:
        raise PairingError(f"QR token: algorithm {alg!r} not accepted (RS256 or ES256 only)")
    keys = [k for k in policy.issuer_keys if _key_fits(k, alg)]
    if not keys:
        raise PairingError(f"QR token: no pinned issuer key for {alg}")
    claims: dict[str, Any] | None = None
    last: Exception | None = None
    for key in keys:
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                options={
                    "require": list(policy.required),
                    "verify_aud": False,  # checked below: aud is the role
                    "verify_iss": False,
                    "verify_iat": False,  # checked below, with our leeway and clock
                    "verify_exp": False,
                    "verify_nbf": False,
                },
            )
            break
        except jwt.InvalidSignatureError as e:
            last = e
        except jwt.PyJWTError as e:
            raise PairingError(f"QR token: {e}") from e
    if claims is None:
        raise PairingError("QR token: signature does not match a pinned issuer key") from last
    return _check_claims(claims, policy, now)


def _int_claim(claims: dict[str, Any], name: str) -> int | None:
    value = claims.get(name)
    if value is None:
        return None
    # the JWT's JSON may carry NaN, Infinity or 1e400 (Python's parser takes them): a
    # NumericDate is a finite number of seconds, within the years 1970..9999
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (math.isfinite(value) and 0 <= value <= MAX_EPOCH_S)
    ):
        raise PairingError(f"QR token: {name} must be a number (epoch seconds)")
    return int(value)


def _check_claims(claims: dict[str, Any], policy: PairingPolicy, now: float) -> QrClaims:
    iss = claims.get("iss")
    if not isinstance(iss, str) or iss not in policy.issuers:
        raise PairingError(f"QR token: issuer {iss!r} not trusted")
    sub = claims.get("sub")
    if sub != policy.charge_point_id:
        raise PairingError("QR token: issued for another charge point (sub)")
    aud = claims.get("aud")
    if not isinstance(aud, str) or aud not in policy.roles:
        raise PairingError(f"QR token: audience {aud!r} is not a role of this charger")
    iat = _int_claim(claims, "iat")
    assert iat is not None  # required above
    if iat > now + policy.iat_leeway_s:
        raise PairingError("QR token: issued in the future (iat)")
    exp = _int_claim(claims, "exp")
    if exp is not None and exp <= now:
        raise PairingError("QR token: expired (exp)")
    nbf = _int_claim(claims, "nbf")
    if nbf is not None and nbf > now + policy.iat_leeway_s:
        raise PairingError("QR token: not valid yet (nbf)")
    jti = claims.get("jti")
    if jti is not None and (not isinstance(jti, str) or not jti or len(jti) > 200):
        raise PairingError("QR token: jti must be a non-empty string")
    wifi = claims.get("wifi")
    return QrClaims(
        role=aud,
        issuer=iss,
        charge_point_id=sub,
        issued_at=iat,
        expires_at=exp,
        jti=jti,
        wifi=wifi if isinstance(wifi, dict) else None,
    )


async def pair(
    token: str, policy: PairingPolicy, jtis: JtiRegistry, now: float | None = None
) -> QrClaims:
    """Open the envelope, verify the JWT, and consume its jti. Raises PairingError."""
    now = clock.now() if now is None else now  # the CSMS's time when NTP never synced
    try:
        inner = open_envelope(token, policy.secret, policy.charge_point_id)
    except EnvelopeError as e:
        raise PairingError(f"QR token: {e}") from e
    claims = verify_inner_jwt(inner, policy, now)
    if claims.jti is not None and not await jtis.claim(claims.jti, claims.expires_at, now):
        raise PairingError("QR token: already used (jti replayed)")
    return claims
