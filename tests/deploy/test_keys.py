"""`ncpa keys` on a charger's config: pinned keys root-owned 0640 in the keys directory,
device keys the service's own 0600 in the data dir, clear one-line refusals, nothing
written where it must not go. As root the files are given to a service user; `daemon`
(present on every Debian) stands in for `ncpa` here."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ncpa.api.envelope import load_secret
from ncpa.api.pairing import load_issuer_keys
from ncpa.cli import main
from ncpa.updates.bundle import load_vendor_key
from tests.api.keys import pem_private, pem_public

ROOT = os.geteuid() == 0
SERVICE = "daemon" if ROOT else ""


@pytest.fixture
def charger(tmp_path: Path) -> Path:
    config = tmp_path / "ncpa.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\n[station]\nid = "NCPA-KEYS-1"\n'
        f'[local_api]\nkeys_dir = "{tmp_path / "keys"}"\n'
    )
    return config


def keys(config: Path, *args: str) -> int:
    group = ["--group", SERVICE] if SERVICE else []
    return main(["keys", "--config", str(config), *group, *args])


def pem(tmp: Path, name: str, data: bytes) -> str:
    (tmp / name).write_bytes(data)
    return str(tmp / name)


def owner(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return oct(st.st_mode & 0o777), st.st_uid, st.st_gid


SERVICE_IDS = (1, 1) if ROOT else (os.getuid(), os.getgid())


def test_import_pins_public_keys_readable_by_the_service_only(
    charger: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    issuer, nxt = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    vendor = ed25519.Ed25519PrivateKey.generate()
    assert keys(charger, "import-issuer", pem(tmp_path, "i.pem", pem_public(issuer))) == 0
    assert keys(charger, "import-issuer", "--next", pem(tmp_path, "n.pem", pem_public(nxt))) == 0
    assert keys(charger, "import-vendor", pem(tmp_path, "v.pem", pem_public(vendor))) == 0
    assert keys(charger, "import-secret", pem(tmp_path, "s.hex", b"ab" * 32 + b"\n")) == 0
    d = tmp_path / "keys"
    root_group = (0, SERVICE_IDS[1]) if ROOT else SERVICE_IDS
    for name in ("qr-issuer.pem", "qr-issuer-next.pem", "vendor-signing.pem", "qr-shared-secret"):
        assert owner(d / name) == ("0o640", *root_group), name
    # what the daemon loads, it can load
    assert len(load_issuer_keys([d / "qr-issuer.pem", d / "qr-issuer-next.pem"])) == 2
    assert load_secret((d / "qr-shared-secret").read_text()) == b"\xab" * 32
    load_vendor_key((d / "vendor-signing.pem").read_bytes())
    capsys.readouterr()
    assert keys(charger, "show") == 0
    shown = capsys.readouterr().out
    assert "QR issuer key" in shown and "missing" not in shown.split("device keys")[0]
    assert "ab" * 8 not in shown  # the secret is never printed
    # the same key again: nothing to do; a different one: refused unless --replace
    assert keys(charger, "import-issuer", str(tmp_path / "i.pem")) == 0
    assert "already installed" in capsys.readouterr().out
    other = pem(tmp_path, "o.pem", pem_public(ec.generate_private_key(ec.SECP256R1())))
    before = (d / "qr-issuer.pem").read_bytes()
    assert keys(charger, "import-issuer", other) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--replace" in err
    assert (d / "qr-issuer.pem").read_bytes() == before
    # rotation: the next key becomes current, labels of the old one stop working
    assert keys(charger, "rotate", "issuer") == 0
    assert (d / "qr-issuer.pem").read_bytes() == pem_public(nxt)
    assert not (d / "qr-issuer-next.pem").exists()
    assert keys(charger, "rotate", "issuer") == 2  # no next key any more


@pytest.mark.parametrize(
    ("cmd", "data", "message"),
    [
        ("import-issuer", b"garbage", "not a PEM public key"),
        ("import-issuer", "private", "a private key"),
        ("import-issuer", "rsa1024", "shorter than 2048"),
        ("import-issuer", "ed25519", "only RSA (RS256) and EC P-256"),
        ("import-vendor", "ec", "expected an Ed25519 public key"),
        ("import-vendor", "vendor-private", "a private key"),
        ("import-secret", b"xyz\n", "expected hex"),
        ("import-secret", b"ab" * 16, "at least 32 bytes"),
    ],
)
def test_bad_keys_are_one_line_and_change_nothing(
    charger: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], cmd: str,
    data: bytes | str, message: str,
) -> None:  # fmt: skip
    makers = {
        "private": lambda: pem_private(ec.generate_private_key(ec.SECP256R1())),
        "rsa1024": lambda: pem_public(rsa.generate_private_key(65537, 1024)),
        "ed25519": lambda: pem_public(ed25519.Ed25519PrivateKey.generate()),
        "ec": lambda: pem_public(ec.generate_private_key(ec.SECP256R1())),
        "vendor-private": lambda: pem_private(ed25519.Ed25519PrivateKey.generate()),
    }
    raw = makers[data]() if isinstance(data, str) else data
    assert keys(charger, cmd, pem(tmp_path, "in", raw)) == 2
    err = capsys.readouterr().err
    assert err.startswith("ncpa keys: ") and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "keys").exists()


def test_missing_file_and_missing_service_group(
    charger: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert keys(charger, "import-vendor", str(tmp_path / "nope.pem")) == 2
    assert "No such file" in capsys.readouterr().err
    if ROOT:
        good = pem(tmp_path, "v.pem", pem_public(ed25519.Ed25519PrivateKey.generate()))
        code = main(["keys", "--config", str(charger), "--group", "no-such-group-x",
                     "import-vendor", good])  # fmt: skip
        assert code == 2 and "install.sh" in capsys.readouterr().err
        assert not (tmp_path / "keys" / "vendor-signing.pem").exists()


def test_never_inside_the_installed_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inside = Path(sysconfig.get_paths()["purelib"]) / "ncpa-keys-test"
    good = pem(tmp_path, "v.pem", pem_public(ed25519.Ed25519PrivateKey.generate()))
    assert main(["keys", "--keys-dir", str(inside), "import-vendor", good]) == 2
    assert "inside the installed code" in capsys.readouterr().err
    assert not inside.exists()


def test_device_keys_created_kept_and_rotated(
    charger: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert keys(charger, "create-device") == 0
    out = capsys.readouterr().out
    assert "HTTPS certificate SHA-256: " in out
    api = tmp_path / "data" / "api"
    assert owner(api) == ("0o700", *SERVICE_IDS)
    for name in ("access-token.key", "device-cert.key"):
        assert owner(api / name) == ("0o600", *SERVICE_IDS)
    first = {n: (api / n).read_bytes() for n in ("access-token.key", "device-cert.key")}
    assert keys(charger, "create-device") == 0  # kept
    assert {n: (api / n).read_bytes() for n in first} == first
    assert out.split("SHA-256: ")[1] == capsys.readouterr().out.split("SHA-256: ")[1]
    assert keys(charger, "rotate", "device") == 0
    assert all((api / n).read_bytes() != first[n] for n in first)


def test_as_a_process_secret_from_stdin(charger: Path, tmp_path: Path) -> None:
    group = ["--group", SERVICE] if SERVICE else []
    r = subprocess.run(
        [sys.executable, "-m", "ncpa", "keys", "--config", str(charger), *group,
         "import-secret", "-"],
        input=b"cd" * 32, capture_output=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "keys" / "qr-shared-secret").read_text() == "cd" * 32 + "\n"
