"""Signed bundles, release slots, trial and rollback (no HTTP)."""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from ncpa.updates.bundle import BundleError, verify_bundle
from ncpa.updates.health import UpdateHealth
from ncpa.updates.sign import build_bundle
from ncpa.updates.sign import main as sign_main
from ncpa.updates.slots import Releases

KEY = ed25519.Ed25519PrivateKey.generate()
PUB = KEY.public_key()


def source(tmp: Path, text: str = "v2") -> Path:
    src = tmp / "src"
    (src / "ncpa").mkdir(parents=True, exist_ok=True)
    (src / "ncpa" / "__init__.py").write_text(f"VERSION = {text!r}\n")
    (src / "bin").mkdir(exist_ok=True)
    (src / "bin" / "run").write_text("#!/bin/sh\n")
    (src / "bin" / "run").chmod(0o755)
    (src / "ncpa" / "__pycache__").mkdir(exist_ok=True)
    (src / "ncpa" / "__pycache__" / "x.pyc").write_bytes(b"junk")
    return src


def bundle(tmp: Path, version: str = "0.2.0", name: str = "b.tar") -> Path:
    out = tmp / name
    build_bundle(source(tmp), version, KEY, out)
    return out


def members(path: Path) -> list[tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(path) as tar:
        out = []
        for m in tar.getmembers():
            f = tar.extractfile(m)
            out.append((m, f.read() if f else b""))
        return out


def rewrite(path: Path, items: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    out = path.with_name("evil.tar")
    with tarfile.open(out, "w") as tar:
        for m, data in items:
            m.size = len(data) if m.isreg() else 0
            tar.addfile(m, io.BytesIO(data) if m.isreg() else None)
    return out


def test_signed_bundle_verifies(tmp_path: Path) -> None:
    manifest = verify_bundle(bundle(tmp_path), PUB)
    assert manifest.version == "0.2.0"
    assert sorted(f.path for f in manifest.files) == ["bin/run", "ncpa/__init__.py"]
    gz = bundle(tmp_path, name="b.tar.gz")
    assert verify_bundle(gz, PUB).version == "0.2.0"


def _tamper_payload(items: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    m, data = items[-1]
    items[-1] = (m, data[:-1] + bytes([data[-1] ^ 1]))


def _drop_signature(items: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    del items[1]


def _other_signer(items: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    items[1] = (items[1][0], ed25519.Ed25519PrivateKey.generate().sign(items[0][1]))


def _edit_manifest(items: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    doc = json.loads(items[0][1])
    doc["version"] = "9.9.9"
    items[0] = (items[0][0], json.dumps(doc).encode())


def _extra_member(items: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    items.append((tarfile.TarInfo("payload/evil.py"), b"print('x')"))


def _missing_member(items: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    del items[-1]


def _symlink(items: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    link = tarfile.TarInfo("payload/ncpa/__init__.py")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    items[-1] = (link, b"")


def _traversal(items: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    m, data = items[-1]
    m.name = "payload/../../etc/cron.d/x"
    items[-1] = (m, data)


def _garbage(items: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    items.clear()


@pytest.mark.parametrize(
    "attack",
    [
        _tamper_payload, _drop_signature, _other_signer, _edit_manifest, _extra_member,
        _missing_member, _symlink, _traversal, _garbage,
    ],
)  # fmt: skip
def test_bad_bundles_refused_and_nothing_installed(tmp_path: Path, attack: object) -> None:
    good = bundle(tmp_path)
    items = members(good)
    attack(items)  # type: ignore[operator]
    evil = rewrite(good, items)
    with pytest.raises(BundleError):
        verify_bundle(evil, PUB)
    releases = Releases(tmp_path / "data")
    with pytest.raises(BundleError):
        releases.install(evil, PUB)
    assert releases.versions() == []
    assert not [p for p in (tmp_path / "data" / "releases").iterdir()]


def test_not_a_tar(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"\x00" * 10 + b"not a tar")
    with pytest.raises(BundleError):
        verify_bundle(junk, PUB)


def test_install_switch_trial_healthy(tmp_path: Path) -> None:
    releases = Releases(tmp_path / "data")
    releases.install(bundle(tmp_path, "0.1.0", "a.tar"), PUB)
    releases.switch("0.1.0", health_timeout=60)
    assert releases.boot_check() == "trial"
    assert releases.mark_healthy() == "0.1.0"
    assert releases.pending() is None
    releases.install(bundle(tmp_path, "0.2.0", "b.tar"), PUB)
    slot = releases.root / "0.2.0"
    assert (slot / "ncpa" / "__init__.py").read_text() == "VERSION = 'v2'\n"
    assert (slot / "bin" / "run").stat().st_mode & 0o111
    assert not (slot / "ncpa" / "__pycache__").exists()
    assert releases.current_version() == "0.1.0"  # installing does not switch
    releases.switch("0.2.0", health_timeout=60)
    assert releases.current_version() == "0.2.0"
    assert releases.boot_check() == "trial"
    releases.mark_healthy()
    assert releases.boot_check() == "none"
    assert releases.current_version() == "0.2.0"


def test_crash_loop_rolls_back(tmp_path: Path) -> None:
    releases = Releases(tmp_path / "data")
    for v, n in (("0.1.0", "a.tar"), ("0.2.0", "b.tar")):
        releases.install(bundle(tmp_path, v, n), PUB)
    releases.switch("0.1.0", 60)
    releases.mark_healthy()
    releases.switch("0.2.0", 60)
    assert releases.boot_check() == "trial"  # first start of the new release
    assert releases.boot_check() == "trial"  # one restart is allowed (a reboot right after)
    assert releases.boot_check() == "rolled_back"  # again without becoming healthy
    assert releases.current_version() == "0.1.0"
    assert (releases.last_rollback() or {})["failed"] == "0.2.0"


def test_deadline_rolls_back(tmp_path: Path) -> None:
    releases = Releases(tmp_path / "data")
    releases.install(bundle(tmp_path, "0.2.0"), PUB)
    releases.switch("0.2.0", 60, now=1000.0)
    assert releases.boot_check(now=2000.0) == "rolled_back"
    assert releases.current_version() is None  # back to the factory install


async def test_update_health_marks_healthy_after_running(tmp_path: Path) -> None:
    releases = Releases(tmp_path / "data")
    releases.install(bundle(tmp_path, "0.2.0"), PUB)
    releases.switch("0.2.0", 60)
    restarts: list[int] = []
    health = UpdateHealth(tmp_path / "data", lambda: restarts.append(1), confirm_after=0.01)
    await health.start()
    assert health.state == "trial"
    for _ in range(100):
        if releases.pending() is None:
            break
        await asyncio.sleep(0.01)
    await health.stop()
    assert releases.pending() is None and not restarts
    assert (releases.root / "0.2.0" / ".healthy").exists()


async def test_update_health_restarts_after_rollback(tmp_path: Path) -> None:
    releases = Releases(tmp_path / "data")
    releases.install(bundle(tmp_path, "0.2.0"), PUB)
    releases.switch("0.2.0", 60)
    releases.boot_check()
    releases.boot_check()
    restarts: list[int] = []
    health = UpdateHealth(tmp_path / "data", lambda: restarts.append(1), confirm_after=0.01)
    await health.start()
    await health.stop()
    assert health.state == "rolled_back" and restarts == [1]


def test_sign_tool_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cryptography.hazmat.primitives import serialization

    key = tmp_path / "k.key"
    key.write_bytes(
        KEY.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pub = tmp_path / "k.pem"
    pub.write_bytes(
        PUB.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    out = tmp_path / "x.tar.gz"
    src = source(tmp_path)
    argv = [str(src), "--key", str(key), "--version", "1.0.0", "--output", str(out)]
    assert sign_main(argv) == 0
    assert sign_main([str(out), "--verify", "--pubkey", str(pub)]) == 0
    other = tmp_path / "o.pem"
    other.write_bytes(
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert sign_main([str(out), "--verify", "--pubkey", str(other)]) == 1
    assert sign_main([str(src), "--key", str(key), "--version", "../x", "--output", str(out)]) == 2
    assert "OK" in capsys.readouterr().out


def test_service_drops_partial_uploads_at_start(tmp_path: Path) -> None:
    from ncpa.updates.service import UpdateService

    incoming = tmp_path / "data" / "updates"
    incoming.mkdir(parents=True)
    (incoming / "x.part").write_bytes(b"half")
    (incoming / "0.2.0-abc.bundle").write_bytes(b"kept")
    service = UpdateService(tmp_path / "data", tmp_path / "missing.pem", 60)
    assert service.vendor_key is None  # no key pinned: updates disabled, not a crash
    assert sorted(p.name for p in incoming.iterdir()) == ["0.2.0-abc.bundle"]
