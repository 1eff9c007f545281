"""`ncpa qr`: the labels it makes pair with a charger that pins the same keys."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from ncpa.api.envelope import open_envelope
from ncpa.api.pairing import PairingPolicy, load_issuer_keys, verify_inner_jwt
from ncpa.api.settings import DEV_KEYS
from ncpa.qr import add_qr_arguments, qr_main
from tests.api.keys import CP_ID, AuthServer, pem_private


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """(exit code, stdout); stderr is appended to stdout after a marker line."""
    parser = argparse.ArgumentParser()
    add_qr_arguments(parser)
    code = qr_main(parser.parse_args(list(argv)))
    out, err = capsys.readouterr()
    return code, out + ("\n--stderr--\n" + err if err else "")


def dev_policy() -> PairingPolicy:
    secret = bytes.fromhex((DEV_KEYS / "qr-shared-secret").read_text().strip())
    keys = load_issuer_keys([DEV_KEYS / "qr-issuer.pem", DEV_KEYS / "qr-issuer-next.pem"])
    return PairingPolicy(CP_ID, secret, keys, roles=("operator", "installer", "developer"))


def test_bare_token_with_defaults_pairs_with_dev_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "--id", CP_ID, "--role", "installer", "--format", "token")
    assert code == 0
    token = out.strip()
    assert "\n" not in token and token.startswith("v1.")
    p = dev_policy()
    claims = verify_inner_jwt(open_envelope(token, p.secret, CP_ID), p)
    assert claims.role == "installer" and claims.jti is None and claims.wifi is None


def test_text_shows_token_and_terminal_qr(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "--id", CP_ID, "--ssid", "hotspot", "--psk", "secret", "--one-time")
    assert code == 0
    assert f"{CP_ID} operator: v1." in out and f"{CP_ID} installer: v1." in out
    assert "█" in out  # the QR itself
    token = out.split(f"{CP_ID} installer: ")[1].split()[0]
    p = dev_policy()
    claims = verify_inner_jwt(open_envelope(token, p.secret, CP_ID), p)
    assert claims.jti and claims.wifi == {
        "ssid": "hotspot",
        "password": "secret",
        "type": "wpa2",
        "hidden": False,
    }


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_images_written(capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str) -> None:
    code, _ = run(capsys, "--id", CP_ID, "--format", fmt, "--output", str(tmp_path))
    assert code == 0
    for role in ("operator", "installer"):
        data = (tmp_path / f"{CP_ID}-{role}.{fmt}").read_bytes()
        assert data.startswith(b"\x89PNG") if fmt == "png" else b"<svg" in data
    single = tmp_path / "one.svg"
    code, _ = run(
        capsys, "--id", CP_ID, "--role", "operator", "--format", fmt, "--output", str(single)
    )
    assert code == 0 and single.exists()


def test_other_keys_and_clear_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    auth = AuthServer()
    (tmp_path / "k.pem").write_bytes(pem_private(auth.rs))
    (tmp_path / "s").write_text(auth.secret.hex())
    code, out = run(
        capsys, "--id", CP_ID, "--role", "operator", "--format", "token",
        "--issuer-key", str(tmp_path / "k.pem"), "--secret", str(tmp_path / "s"),
    )  # fmt: skip
    assert code == 0
    p = PairingPolicy(CP_ID, auth.secret, [auth.rs.public_key()])
    assert verify_inner_jwt(open_envelope(out.strip(), auth.secret, CP_ID), p).role == "operator"
    code, out = run(capsys, "--id", CP_ID, "--issuer-key", str(tmp_path / "missing"))
    assert code == 2
    assert "--stderr--" in out and "missing" in out and "v1." not in out
