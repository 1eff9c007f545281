"""The QR envelope and the inner JWT checks, on their own (no HTTP)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as hs

from ncpa.api import pairing
from ncpa.api.envelope import EnvelopeError, b64url, open_envelope, seal, unb64url
from ncpa.api.pairing import JtiRegistry, PairingError, PairingPolicy, pair, verify_inner_jwt
from ncpa.api.tokens import TokenError, TokenIssuer, load_or_create_device_key
from ncpa.store import Store
from tests.api.keys import (
    CP_ID,
    AuthServer,
    alg_none_jwt,
    hs256_with_public_key,
    pem_public,
)


@pytest.fixture(scope="module")
def auth() -> AuthServer:
    return AuthServer()


def policy(auth: AuthServer, **over: object) -> PairingPolicy:
    keys = [auth.es.public_key(), auth.es_next.public_key(), auth.rs.public_key()]
    p = PairingPolicy(charge_point_id=CP_ID, secret=auth.secret, issuer_keys=keys)
    for k, v in over.items():
        setattr(p, k, v)
    return p


# -- envelope -----------------------------------------------------------------


def test_envelope_round_trip_and_layout(auth: AuthServer) -> None:
    token = seal("a.b.c", auth.secret, CP_ID)
    assert token.startswith("v1.")
    raw = unb64url(token[3:])
    assert len(raw) == 16 + 12 + len("a.b.c") + 16
    assert open_envelope(token, auth.secret, CP_ID) == "a.b.c"
    # padded base64url (some generators keep '=') opens as well
    assert open_envelope(token + "=" * (-len(token[3:]) % 4), auth.secret, CP_ID) == "a.b.c"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"),  # ciphertext/tag flipped
        lambda t: "v2." + t[3:],
        lambda t: t[:3] + "!!!" + t[6:],
        lambda t: "v1.AAAA",
        lambda t: "",
        lambda t: "v1." + "A" * 9000,
    ],
)
def test_tampered_envelope_does_not_open(auth: AuthServer, mangle: object) -> None:
    token = seal("a.b.c", auth.secret, CP_ID)
    with pytest.raises(EnvelopeError):
        open_envelope(mangle(token), auth.secret, CP_ID)  # type: ignore[operator]


def test_envelope_is_bound_to_secret_and_charge_point(auth: AuthServer) -> None:
    token = seal("a.b.c", auth.secret, CP_ID)
    with pytest.raises(EnvelopeError):
        open_envelope(token, b"\x22" * 32, CP_ID)
    with pytest.raises(EnvelopeError):
        open_envelope(token, auth.secret, "CP-OTHER")
    # the aad is "v1": the same bytes sealed with another aad do not open
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from ncpa.api.envelope import _key

    salt, nonce = b"s" * 16, b"n" * 12
    ct = AESGCM(_key(auth.secret, salt, CP_ID)).encrypt(nonce, b"a.b.c", b"v2")
    with pytest.raises(EnvelopeError):
        open_envelope("v1." + b64url(salt + nonce + ct), auth.secret, CP_ID)


# -- inner JWT ------------------------------------------------------------------


def test_es256_current_and_next_key_and_rs256_accepted(auth: AuthServer) -> None:
    for key, alg in ((auth.es, "ES256"), (auth.es_next, "ES256"), (auth.rs, "RS256")):
        claims = verify_inner_jwt(auth.inner("operator", key=key, alg=alg), policy(auth))
        assert claims.role == "operator"
        assert claims.wifi is not None and claims.wifi["ssid"] == "ncpa-hotspot"


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda a: a.inner(key=a.stranger), "signature"),
        (lambda a: alg_none_jwt(a.claims()), "none"),
        (lambda a: hs256_with_public_key(a.claims(), pem_public(a.es)), "HS256"),
        (lambda a: hs256_with_public_key(a.claims(), pem_public(a.rs)), "HS256"),
        (lambda a: a.inner(alg="ES384", key=ec.generate_private_key(ec.SECP384R1())), "ES384"),
        (lambda a: a.inner(iss="Evil Auth"), "issuer"),
        (lambda a: a.inner(sub="CP-OTHER"), "sub"),
        (lambda a: a.inner(role="admin"), "audience"),
        (lambda a: a.inner(role="developer"), "audience"),
        (lambda a: a.inner(aud=["operator", "installer"]), "audience"),
        (lambda a: a.inner(iat=int(time.time()) + 3600), "future"),
        (lambda a: a.inner(iat=None), "iat"),
        (lambda a: a.inner(iss=None), "iss"),
        (lambda a: a.inner(exp=int(time.time()) - 10), "expired"),
        (lambda a: "garbage", "malformed"),
        (lambda a: a.inner()[:-5] + "AAAAA", "signature"),
    ],
)
def test_inner_jwt_refused(auth: AuthServer, make: object, why: str) -> None:
    with pytest.raises(PairingError, match=why):
        verify_inner_jwt(make(auth), policy(auth))  # type: ignore[operator]


def test_key_of_wrong_type_for_header_is_not_tried(auth: AuthServer) -> None:
    # only the RSA key pinned: an ES256 token has no key to be checked against
    p = policy(auth, issuer_keys=[auth.rs.public_key()])
    with pytest.raises(PairingError, match="no pinned issuer key"):
        verify_inner_jwt(auth.inner(), p)


def test_developer_role_only_when_granted(auth: AuthServer) -> None:
    p = policy(auth, roles=("operator", "installer", "developer"))
    assert verify_inner_jwt(auth.inner("developer"), p).role == "developer"


def test_issuer_key_loading_rules(tmp_path: Path) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ValueError, match="2048"):
        pairing.load_issuer_key(pem_public(weak))
    with pytest.raises(ValueError, match="only RSA"):
        pairing.load_issuer_key(pem_public(ed25519.Ed25519PrivateKey.generate()))
    with pytest.raises(ValueError, match="PEM"):
        pairing.load_issuer_key(b"nonsense")


async def test_jti_is_used_once_and_survives_restart(auth: AuthServer, tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    jtis = JtiRegistry(store)
    await jtis.migrate()
    token = auth.token(jti="label-1")
    assert (await pair(token, policy(auth), jtis)).jti == "label-1"
    with pytest.raises(PairingError, match="replayed"):
        await pair(auth.token(jti="label-1"), policy(auth), jtis)
    await store.close()
    store = await Store.open(tmp_path)
    jtis = JtiRegistry(store)
    await jtis.migrate()
    with pytest.raises(PairingError, match="replayed"):
        await pair(auth.token(jti="label-1"), policy(auth), jtis)
    # without jti a label is reusable (the permanent label on the charger)
    await pair(auth.token(), policy(auth), jtis)
    await pair(auth.token(), policy(auth), jtis)
    await store.close()


async def test_refused_token_does_not_consume_its_jti(auth: AuthServer, tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    jtis = JtiRegistry(store)
    await jtis.migrate()
    with pytest.raises(PairingError):
        await pair(auth.token(jti="j2", iss="Evil"), policy(auth), jtis)
    await pair(auth.token(jti="j2"), policy(auth), jtis)
    await store.close()


# -- device access tokens -----------------------------------------------------------


def test_device_key_created_once_private(tmp_path: Path) -> None:
    key = load_or_create_device_key(tmp_path)
    assert (tmp_path / "access-token.key").stat().st_mode & 0o077 == 0
    again = load_or_create_device_key(tmp_path)
    assert pem_public(key) == pem_public(again)


def test_access_token_round_trip_and_refusals(tmp_path: Path) -> None:
    issuer = TokenIssuer(load_or_create_device_key(tmp_path), CP_ID, ttl_s=60)
    claims = issuer.verify(issuer.issue("installer", "phone-1"))
    assert (claims.role, claims.client_id) == ("installer", "phone-1")
    with pytest.raises(TokenError, match="expired"):
        issuer.verify(issuer.issue("installer", "phone-1", now=time.time() - 120))
    other = TokenIssuer(load_or_create_device_key(tmp_path / "other"), CP_ID, ttl_s=60)
    with pytest.raises(TokenError):
        issuer.verify(other.issue("installer", "phone-1"))
    other_cp = TokenIssuer(load_or_create_device_key(tmp_path), "CP-OTHER", ttl_s=60)
    with pytest.raises(TokenError):
        issuer.verify(other_cp.issue("installer", "phone-1"))
    with pytest.raises(TokenError):
        issuer.verify(alg_none_jwt({"role": "installer", "sub": "phone-1"}))


# -- properties ------------------------------------------------------------------------------

SECRET = b"\x33" * 32


@settings(max_examples=60, deadline=None)
@given(hs.text(alphabet=hs.characters(min_codepoint=33, max_codepoint=126), min_size=1))
def test_envelope_round_trips_any_ascii(inner: str) -> None:
    assert open_envelope(seal(inner, SECRET, CP_ID), SECRET, CP_ID) == inner


@settings(max_examples=60, deadline=None)
@given(hs.data())
def test_any_single_byte_change_is_refused(data: hs.DataObject) -> None:
    raw = bytearray(unb64url(seal("a.b.c", SECRET, CP_ID)[3:]))
    i = data.draw(hs.integers(0, len(raw) - 1))
    raw[i] ^= data.draw(hs.integers(1, 255))
    with pytest.raises(EnvelopeError):
        open_envelope("v1." + b64url(bytes(raw)), SECRET, CP_ID)


def test_a_verified_token_is_remembered_only_until_it_expires() -> None:
    import time as _time

    from cryptography.hazmat.primitives.asymmetric import ed25519 as _ed

    from ncpa.api.tokens import TokenError as _TokenError
    from ncpa.api.tokens import TokenIssuer as _Issuer

    issuer = _Issuer(_ed.Ed25519PrivateKey.generate(), "CP1", 1.0)
    token = issuer.issue("operator", "phone")
    first = issuer.verify(token)
    assert issuer.verify(token) is first  # the second check comes from memory
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    with pytest.raises(_TokenError):  # a different string is checked for itself
        issuer.verify(tampered)
    while _time.time() < first.expires_at:
        _time.sleep(0.05)
    with pytest.raises(_TokenError, match="expired"):
        issuer.verify(token)
