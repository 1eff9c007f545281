"""POST /upgrade through HTTP: signed bundles install and restart; anything else changes nothing."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import aiohttp
from cryptography.hazmat.primitives.asymmetric import ed25519

from ncpa.updates.sign import build_bundle
from ncpa.updates.slots import Releases
from tests.api.conftest import VENDOR, Api
from tests.api.waiting import until


def make_bundle(tmp: Path, version: str, key: ed25519.Ed25519PrivateKey = VENDOR) -> bytes:
    src = tmp / f"src-{version}"
    (src / "ncpa").mkdir(parents=True)
    (src / "ncpa" / "__init__.py").write_text(f'__version__ = "{version}"\n')
    out = tmp / f"{version}.tar.gz"
    build_bundle(src, version, key, out)
    return out.read_bytes()


async def upload(api: Api, token: str, data: bytes, field: str = "data") -> tuple[int, object]:
    form = aiohttp.FormData()
    form.add_field(field, data, filename="update.tar.gz", content_type="application/gzip")
    return await api.call("POST", "/upgrade", token, data=form)


def nothing_installed(api: Api) -> None:
    releases = Releases(api.settings.data_dir)
    assert releases.versions() == [] and releases.current_version() is None
    incoming = api.settings.data_dir / "updates"
    assert not incoming.exists() or os.listdir(incoming) == []


async def test_signed_bundle_installs_and_restarts(api: Api, tmp_path: Path) -> None:
    operator = await api.login("operator")
    status, body = await upload(api, operator, make_bundle(tmp_path, "0.2.0"))
    assert status == 200, body
    assert isinstance(body, dict)
    assert body["version"] == "0.2.0" and body["originalname"] == "update.tar.gz"
    assert body["mimetype"] == "application/gzip"
    assert await asyncio.to_thread(Path(body["path"]).exists)
    await until(lambda: api.reboots)
    assert api.reboots == [1]
    releases = Releases(api.settings.data_dir)
    assert releases.current_version() == "0.2.0"
    assert (releases.root / "0.2.0" / "ncpa" / "__init__.py").exists()
    pending = releases.pending()
    assert pending is not None and pending.version == "0.2.0"  # on trial until healthy
    dev = await api.login("developer")
    status, files = await api.call("GET", "/development/upgrade-contents", dev)
    assert status == 200 and [f["path"] for f in files] == ["ncpa/__init__.py"]  # type: ignore[index]
    status, stored = await api.call("GET", "/development/upgrade", dev)
    assert status == 200 and len(stored) == 1  # type: ignore[arg-type]
    status, info = await api.call("GET", "/device-info", operator)
    assert info["firmwareVersion"] == "0.2.0"  # type: ignore[index]


async def test_status_is_upgrading_while_installing(api: Api, tmp_path: Path) -> None:
    operator = await api.login("operator")
    gate = asyncio.Event()

    async def slow_shutdown(reason: str) -> None:
        await gate.wait()

    api.charger.station.shutdown_sessions = slow_shutdown  # type: ignore[method-assign]
    assert (await upload(api, operator, make_bundle(tmp_path, "0.3.0")))[0] == 200
    status, body = await api.call("GET", "/status", operator)
    assert body["chargePointStatus"] == "UPGRADING"  # type: ignore[index]
    status, _err = await upload(api, operator, make_bundle(tmp_path, "0.4.0"))
    assert status == 409
    gate.set()


async def test_unsigned_tampered_or_foreign_bundle_is_400(api: Api, tmp_path: Path) -> None:
    import io
    import tarfile

    operator = await api.login("operator")
    good = make_bundle(tmp_path, "0.2.0")
    foreign = make_bundle(tmp_path / "f", "0.2.0", ed25519.Ed25519PrivateKey.generate())
    # unsigned: the payload alone
    unsigned = io.BytesIO()
    with tarfile.open(fileobj=unsigned, mode="w") as tar:
        info = tarfile.TarInfo("payload/ncpa/__init__.py")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"x=1"))
    tampered = bytearray(good)
    tampered[len(tampered) // 2] ^= 0xFF
    for data in (unsigned.getvalue(), bytes(tampered), foreign, b"not a bundle at all"):
        status, body = await upload(api, operator, data)
        assert status == 400, body
        assert body["error"] == "InvalidBundle" and "nothing was installed" in body["message"]  # type: ignore[index]
        nothing_installed(api)
    assert not api.reboots


async def test_oversized_upload_is_413(api: Api) -> None:
    operator = await api.login("operator")
    big = os.urandom(api.settings.max_upload_bytes + 1)
    status, body = await upload(api, operator, big)
    assert status == 413 and body["error"] == "PayloadTooLarge"  # type: ignore[index]
    nothing_installed(api)
    # streamed without a Content-Length: the limit holds while reading

    async def chunks() -> object:
        for _ in range(3):
            yield os.urandom(api.settings.max_upload_bytes // 2)

    form = aiohttp.FormData()
    form.add_field("data", chunks(), filename="big.tar")
    async with api.session.post(
        f"{api.url}/upgrade",
        params={"clientId": "phone-1"},
        headers={"Authorization": f"Bearer {operator}"},
        data=form,
    ) as r:
        assert r.status == 413
    nothing_installed(api)


async def test_upload_without_the_data_field_is_400(api: Api) -> None:
    operator = await api.login("operator")
    status, body = await upload(api, operator, b"abc", field="file")
    assert status == 400 and body["message"].startswith("data")  # type: ignore[index]
    status, body = await api.call("POST", "/upgrade", operator, data=b"raw")
    assert status == 400 and body["message"].startswith("data")  # type: ignore[index]


async def test_no_upgrade_during_a_session(api: Api, tmp_path: Path) -> None:
    operator = await api.login("operator")
    api.charger.plant.plug(1)
    assert (await api.call("POST", "/charging/start", operator, params={"tag": "T1"}))[0] == 204
    await until(lambda: api.charger.station.view(1).transaction)
    status, body = await upload(api, operator, make_bundle(tmp_path, "0.2.0"))
    assert status == 409 and "session" in body["message"]  # type: ignore[index]
    nothing_installed(api)
