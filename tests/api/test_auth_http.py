"""Pairing and access control through real HTTP: every refusal, every role."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import jwt
import pytest

from ncpa.api.tokens import AUDIENCE
from tests.api.conftest import AUTH, Api, Charger, start_api, write_keys
from tests.api.keys import CP_ID, alg_none_jwt, hs256_with_public_key, pem_public


async def test_pairing_issues_a_device_signed_token(api: Api) -> None:
    status, body = await api.pair(AUTH.token("installer"), "phone-7")
    assert status == 200
    header = jwt.get_unverified_header(body["accessToken"])
    assert header["alg"] == "EdDSA"
    claims = jwt.decode(body["accessToken"], options={"verify_signature": False})
    assert claims["role"] == "installer" and claims["sub"] == "phone-7"
    assert claims["exp"] - claims["iat"] == int(api.settings.token_ttl) and claims["jti"]
    assert body["role"] == "installer" and body["clientId"] == "phone-7"


async def test_pairing_without_client_id_makes_one(api: Api) -> None:
    status, body = await api.pair(AUTH.token("operator"), client=None)
    assert status == 200 and body["clientId"].startswith("client-")
    token = body["accessToken"]
    assert (await api.call("GET", "/status", token, client=body["clientId"]))[0] == 200


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda: AUTH.sealed(AUTH.inner(key=AUTH.stranger)), "signature"),
        (lambda: AUTH.sealed(alg_none_jwt(AUTH.claims())), "none"),
        (lambda: AUTH.sealed(hs256_with_public_key(AUTH.claims(), pem_public(AUTH.es))), "HS256"),
        (lambda: AUTH.sealed(hs256_with_public_key(AUTH.claims(), pem_public(AUTH.rs))), "HS256"),
        (lambda: AUTH.token(iss="Someone else"), "issuer"),
        (lambda: AUTH.token(sub="CP-OTHER"), "charge point"),
        (lambda: AUTH.sealed(AUTH.inner(sub="CP-OTHER"), "CP-OTHER"), "open"),
        (lambda: AUTH.token(role="admin"), "audience"),
        (lambda: AUTH.token(iat=int(time.time()) + 3600), "future"),
        (lambda: AUTH.token(exp=int(time.time()) - 1), "expired"),
        (lambda: AUTH.token()[:-4] + "AAAA", "open"),
        (lambda: "v1.garbage!", "base64url"),
        (lambda: "eyJhbGciOiJFUzI1NiJ9.e30.sig", "v1."),
    ],
    ids=[
        "unpinned-key", "alg-none", "hs256-es-pubkey", "hs256-rsa-pubkey", "wrong-iss",
        "wrong-sub", "other-charger-envelope", "wrong-aud", "future-iat", "expired",
        "tampered-envelope", "garbled", "bare-jwt",
    ],
)  # fmt: skip
async def test_pairing_refused(api: Api, make: object, why: str) -> None:
    status, body = await api.pair(make())  # type: ignore[operator]
    assert status == 401, body
    assert body["error"] == "Unauthorized" and why in body["message"]


async def test_rotation_both_pinned_keys_and_rsa(api: Api) -> None:
    for key, alg in ((AUTH.es, "ES256"), (AUTH.es_next, "ES256"), (AUTH.rs, "RS256")):
        status, body = await api.pair(AUTH.sealed(AUTH.inner("operator", key=key, alg=alg)))
        assert status == 200, body


async def test_jti_replay_refused(api: Api) -> None:
    token = AUTH.token("installer", jti="one-time-label")
    assert (await api.pair(token))[0] == 200
    status, body = await api.pair(AUTH.token("installer", jti="one-time-label"))
    assert status == 401 and "replayed" in body["message"]


async def test_missing_or_bad_parameters(api: Api) -> None:
    status, body = await api.call("GET", "/auth")
    assert status == 400 and body["message"].startswith("token")
    status, body = await api.pair(AUTH.token(), client="bad client id!")
    assert status == 400 and body["message"].startswith("clientId")


async def test_developer_role_only_in_developer_mode(api: Api, prod_api: Api) -> None:
    assert (await api.pair(AUTH.token("developer")))[0] == 200
    status, body = await prod_api.pair(AUTH.token("developer"))
    assert status == 401 and "audience" in body["message"]


async def test_rate_limit_per_client(charger: Charger, tmp_path: Path) -> None:
    api = await start_api(charger, write_keys(tmp_path / "k"), auth_attempts=3, auth_window=60)
    try:
        for _ in range(3):
            assert (await api.pair("v1.garbage"))[0] == 401
        status, body = await api.pair(AUTH.token())
        assert status == 429 and body["error"] == "TooManyRequests"
        async with api.session.get(f"{api.url}/auth", params={"token": AUTH.token()}) as r:
            assert r.status == 429 and int(r.headers["Retry-After"]) >= 1
    finally:
        await api.session.close()
        await api.server.stop()


# -- access tokens on the routes -------------------------------------------------------------


async def test_token_missing_garbled_expired_foreign(api: Api, tmp_path: Path) -> None:
    status, body = await api.call("GET", "/status")
    assert status == 401 and body["error"] == "Unauthorized"
    assert (await api.call("GET", "/status", "not.a.jwt"))[0] == 401
    assert (await api.call("GET", "/status", alg_none_jwt({"role": "installer"})))[0] == 401
    # the charger's own key, but expired
    expired = api.server_tokens().issue("installer", "phone-1", now=time.time() - 3600)
    status, body = await api.call("GET", "/status", expired)
    assert status == 401 and "expired" in body["message"]
    # a well-formed token signed by another device key
    from ncpa.api.tokens import TokenIssuer, load_or_create_device_key

    foreign = TokenIssuer(load_or_create_device_key(tmp_path / "other"), CP_ID, 60)
    assert (await api.call("GET", "/status", foreign.issue("installer", "phone-1")))[0] == 401
    # a QR token (the issuer's JWT) is not an access token
    assert (await api.call("GET", "/status", AUTH.inner()))[0] == 401
    # HS256 with the device's public key
    public = api.server_tokens()._public
    forged = hs256_with_public_key(
        {"iss": CP_ID, "aud": AUDIENCE, "sub": "phone-1", "role": "installer",
         "iat": int(time.time()), "exp": int(time.time()) + 60, "jti": "x"},
        pem_public_from(public),
    )  # fmt: skip
    assert (await api.call("GET", "/status", forged))[0] == 401


def pem_public_from(public: object) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(
        public.public_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


async def test_token_in_query_parameter_and_bad_scheme(api: Api) -> None:
    token = await api.login("operator")
    status, _ = await api.call("GET", "/status", params={"access_token": token})
    assert status == 200
    async with api.session.get(
        f"{api.url}/status", params={"clientId": "phone-1"}, headers={"Authorization": "Basic x"}
    ) as r:
        assert r.status == 401


async def test_client_id_binding(api: Api) -> None:
    token = await api.login("operator", client="phone-1")
    status, body = await api.call("GET", "/status", token, client="phone-2")
    assert status == 403 and body["error"] == "Forbidden"
    status, body = await api.call("GET", "/status", token, client=None)
    assert status == 400 and body["message"].startswith("clientId")


OPERATOR_ROUTES = [
    ("GET", "/authentication-mode"), ("GET", "/whitelist/cards"), ("GET", "/device-info"),
    ("GET", "/status"), ("GET", "/transactions"), ("GET", "/schedules/chargepoint"),
]  # fmt: skip
INSTALLER_ROUTES = [
    ("GET", "/config/socket-permanent-lock-mode"), ("GET", "/config/grid-max-current"),
    ("GET", "/config/load-shedding"), ("GET", "/config/charge-station-max-current"),
    ("GET", "/config/on-off-peak"), ("GET", "/config/grid-currents"),
    ("GET", "/installer-status"), ("POST", "/config/reboot"), ("POST", "/tests/shunt/activate"),
    ("POST", "/config/socket-permanent-lock-mode"), ("POST", "/config/grid-max-current"),
]  # fmt: skip
DEVELOPER_ROUTES = [
    ("POST", "/development/whitelist/cards"), ("POST", "/development/card/registration-response"),
    ("POST", "/development/qr-gen"), ("GET", "/development/upgrade-contents"),
    ("GET", "/development/upgrade"), ("DELETE", "/development/upgrade"),
    ("GET", "/firmwares/latest"), ("GET", "/firmwares/x.bin"), ("POST", "/firmwares"),
    ("GET", "/firmwares"), ("DELETE", "/firmwares"),
]  # fmt: skip


async def test_roles(api: Api) -> None:
    operator = await api.login("operator")
    installer = await api.login("installer")
    developer = await api.login("developer")
    for method, path in OPERATOR_ROUTES:
        for token in (operator, installer, developer):
            assert (await api.call(method, path, token))[0] == 200, path
    for method, path in INSTALLER_ROUTES:
        status, body = await api.call(method, path, operator)
        assert status == 403 and "installer" in body["message"], path
    for method, path in DEVELOPER_ROUTES:
        assert (await api.call(method, path, installer))[0] == 403, path
        assert (await api.call(method, path, operator))[0] == 403, path


async def test_developer_routes_are_404_in_production(prod_api: Api) -> None:
    installer = await prod_api.login("installer")
    for method, path in DEVELOPER_ROUTES:
        for token in (None, installer):
            status, body = await prod_api.call(method, path, token)
            assert status == 404 and body["error"] == "NotFound", (method, path)


async def test_unknown_path_and_method_are_json(api: Api) -> None:
    async with api.session.get(f"{api.url}/nope") as r:
        assert r.status == 404 and (await r.json())["error"] == "NotFound"
    async with api.session.put(f"{api.url}/status") as r:
        assert r.status == 405 and (await r.json())["error"] == "MethodNotAllowed"
        assert "GET" in r.headers["Allow"]


async def test_openapi_served_without_token(api: Api) -> None:
    status, body = await api.call("GET", "/openapi.json", client=None)
    assert status == 200 and body["openapi"].startswith("3.1")


async def test_tls_with_device_certificate(charger: Charger, tmp_path: Path) -> None:
    import ssl

    from cryptography import x509

    api = await start_api(charger, write_keys(tmp_path / "k"), tls="on")
    try:
        cert_pem = (api.settings.api_dir / "device-cert.pem").read_bytes()
        cert = x509.load_pem_x509_certificate(cert_pem)
        assert cert.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert "localhost" in san.get_values_for_type(x509.DNSName)
        ctx = ssl.create_default_context(cadata=cert_pem.decode())
        ctx.check_hostname = True
        async with aiohttp.ClientSession() as s:
            url = f"https://localhost:{api.server.port}/openapi.json"
            async with s.get(url, ssl=ctx) as r:
                assert r.status == 200
            with pytest.raises(aiohttp.ClientError):
                async with s.get(f"http://127.0.0.1:{api.server.port}/openapi.json") as r:
                    await r.read()
    finally:
        await api.session.close()
        await api.server.stop()


async def test_without_keys_pairing_and_updates_are_503(charger: Charger, tmp_path: Path) -> None:
    empty = tmp_path / "no-keys"
    empty.mkdir()
    api = await start_api(charger, empty, issuer_keys=())
    try:
        status, body = await api.pair(AUTH.token())
        assert status == 503 and body["error"] == "ServiceUnavailable"
        token = api.server_tokens().issue("operator", "phone-1")
        form = aiohttp.FormData()
        form.add_field("data", b"x", filename="u.tar")
        status, body = await api.call("POST", "/upgrade", token, data=form)
        assert status == 503 and "vendor key" in body["message"]
        assert (await api.call("GET", "/status", token))[0] == 200  # the rest works
    finally:
        await api.session.close()
        await api.server.stop()
