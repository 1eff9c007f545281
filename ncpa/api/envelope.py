"""The QR envelope: the sealed form of the QR token printed on the charger's label.

Format `v1.<base64url(salt16 | nonce12 | ciphertext+tag)>` (padding optional):
key = HKDF-SHA256(shared secret, salt, info = "ncpa-qr-v1|" + chargePointId), 32 bytes,
AES-256-GCM over the inner JWT with associated data "v1". Binding the key to the
charge point id means a label copied to another charger does not open there.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "v1."
AAD = b"v1"
SALT_LEN = 16
NONCE_LEN = 12
TAG_LEN = 16
# a QR label holds at most ~3 kB; anything far larger is not ours, refuse before decoding
MAX_TOKEN_CHARS = 8192


class EnvelopeError(ValueError):
    """The envelope is malformed or does not open with this secret and charge point id."""


def _key(secret: bytes, salt: bytes, charge_point_id: str) -> bytes:
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=salt,
        info=b"ncpa-qr-v1|" + charge_point_id.encode(),
    )
    return hkdf.derive(secret)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    """Decode base64url with or without padding; strict about the alphabet."""
    if not text or any(c not in _B64URL for c in text):
        raise binascii.Error("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")


def seal(inner_jwt: str, secret: bytes, charge_point_id: str) -> str:
    salt = os.urandom(SALT_LEN)
    nonce = os.urandom(NONCE_LEN)
    ct = AESGCM(_key(secret, salt, charge_point_id)).encrypt(nonce, inner_jwt.encode(), AAD)
    return PREFIX + b64url(salt + nonce + ct)


def open_envelope(token: str, secret: bytes, charge_point_id: str) -> str:
    """Return the inner JWT, or raise EnvelopeError (never says which part was wrong)."""
    if len(token) > MAX_TOKEN_CHARS:
        raise EnvelopeError("token too long")
    if not token.startswith(PREFIX):
        raise EnvelopeError("unknown token format (expected 'v1.')")
    try:
        raw = unb64url(token[len(PREFIX) :])
    except (binascii.Error, ValueError) as e:
        raise EnvelopeError("token is not base64url") from e
    if len(raw) < SALT_LEN + NONCE_LEN + TAG_LEN + 1:
        raise EnvelopeError("token too short")
    salt, nonce, ct = (
        raw[:SALT_LEN],
        raw[SALT_LEN : SALT_LEN + NONCE_LEN],
        raw[SALT_LEN + NONCE_LEN :],
    )
    try:
        plain = AESGCM(_key(secret, salt, charge_point_id)).decrypt(nonce, ct, AAD)
    except InvalidTag as e:
        raise EnvelopeError("token does not open (tampered, other secret or other charger)") from e
    try:
        return plain.decode("ascii")
    except UnicodeDecodeError as e:
        raise EnvelopeError("token content is not a JWT") from e


def load_secret(text: str) -> bytes:
    """The shared secret file holds hex (as certs/make_dev_keys.py writes it)."""
    value = text.strip()
    try:
        secret = bytes.fromhex(value)
    except ValueError as e:
        raise ValueError("shared secret: expected hex") from e
    if len(secret) < 16:
        raise ValueError("shared secret: at least 16 bytes")
    return secret
