"""Firmware updates and diagnostics over a loopback HTTP server; security extensions."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from ocpp.v16 import call

from tests.ocpp.conftest import Agent, AgentFactory, until
from tests.ocpp.csms import Csms, Quirks
from tests.ocpp.pki import Ca, _name, cert_pem
from tests.ocpp.v16.test_connection import server_tls

IMAGE = b"NCPA firmware image " * 1000


class Files:
    """A loopback HTTP server: GET /fw/<name> serves images (after `fail_first` 500s),
    POST /upload stores multipart uploads."""

    def __init__(self) -> None:
        self.fail_first = 0
        self.gets = 0
        self.uploads: dict[str, bytes] = {}
        self.url = ""
        self.image = IMAGE

    async def get(self, request: web.Request) -> web.Response:
        self.gets += 1
        if self.gets <= self.fail_first:
            return web.Response(status=500)
        return web.Response(body=self.image)

    async def post(self, request: web.Request) -> web.Response:
        reader = await request.multipart()
        part = await reader.next()
        assert part is not None and part.filename  # type: ignore[union-attr]
        self.uploads[part.filename] = await part.read()  # type: ignore[union-attr]
        return web.Response(text="ok")


@pytest.fixture
async def files() -> AsyncIterator[Files]:
    f = Files()
    app = web.Application()
    app.router.add_get("/fw/{name}", f.get)
    app.router.add_post("/upload", f.post)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    f.url = f"http://127.0.0.1:{port}"
    yield f
    await runner.cleanup()


async def online(csms: Csms, agent_factory: AgentFactory) -> Agent:
    agent = await agent_factory(csms.url)
    await agent.accepted()
    return agent


def statuses(csms: Csms, action: str) -> list[str]:
    return [m.payload["status"] for m in csms.calls(action)]


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


async def test_update_firmware_with_a_retry(
    csms: Csms, files: Files, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    files.fail_first = 1
    req = call.UpdateFirmware(
        location=f"{files.url}/fw/ncpa-1.2.bin",
        retrieve_date=now_iso(),
        retries=2,
        retry_interval=0,
    )
    await csms.call(req)
    await csms.wait_for(
        "FirmwareStatusNotification", pred=lambda m: m.payload["status"] == "Installed"
    )
    assert statuses(csms, "FirmwareStatusNotification") == [
        "Downloading",
        "Downloaded",
        "Installing",
        "Installed",
    ]
    fw_dir = agent.client.options.data_dir / "ocpp" / "firmware"
    assert (fw_dir / "ncpa-1.2.bin").read_bytes() == IMAGE
    assert files.gets == 2
    events = [m.payload["type"] for m in csms.calls("SecurityEventNotification")]
    assert "FirmwareUpdated" in events


async def test_update_firmware_download_fails(
    csms: Csms, files: Files, agent_factory: AgentFactory
) -> None:
    await online(csms, agent_factory)
    files.fail_first = 10
    req = call.UpdateFirmware(
        location=f"{files.url}/fw/x.bin", retrieve_date=now_iso(), retries=1, retry_interval=0
    )
    await csms.call(req)
    await csms.wait_for(
        "FirmwareStatusNotification", pred=lambda m: m.payload["status"] == "DownloadFailed"
    )
    res = await csms.call(call.TriggerMessage(requested_message="FirmwareStatusNotification"))
    assert res.status == "Accepted"
    await csms.wait_for("FirmwareStatusNotification", pred=lambda m: m.payload["status"] == "Idle")


async def test_get_diagnostics_uploads(
    csms: Csms, files: Files, agent_factory: AgentFactory
) -> None:
    await online(csms, agent_factory)
    res = await csms.call(
        call.GetDiagnostics(location=f"{files.url}/upload", retries=1, retry_interval=0)
    )
    assert res.file_name.endswith(".json")
    await csms.wait_for(
        "DiagnosticsStatusNotification", pred=lambda m: m.payload["status"] == "Uploaded"
    )
    assert statuses(csms, "DiagnosticsStatusNotification") == ["Uploading", "Uploaded"]
    body = files.uploads[res.file_name].decode()
    assert '"configuration"' in body and "AuthorizationKey" not in body


async def test_get_log_security_log(csms: Csms, files: Files, agent_factory: AgentFactory) -> None:
    await online(csms, agent_factory)
    res = await csms.call(
        call.GetLog(
            log={"remoteLocation": f"{files.url}/upload"}, log_type="SecurityLog", request_id=42
        )
    )
    assert res.status == "Accepted"
    await csms.wait_for("LogStatusNotification", pred=lambda m: m.payload["status"] == "Uploaded")
    assert all(m.payload["requestId"] == 42 for m in csms.calls("LogStatusNotification"))
    assert b"StartupOfTheDevice" in files.uploads[res.filename]


async def test_security_events_recorded_offline_are_sent_after_boot(
    csms_factory, agent_factory: AgentFactory
) -> None:
    csms = await csms_factory(Quirks(boot=["Pending"], boot_interval=1))
    agent = await agent_factory(csms.url)
    await agent.accepted()
    events = await csms.wait_for("SecurityEventNotification")
    assert events[0].payload["type"] == "StartupOfTheDevice"
    boots = [i for i, m in enumerate(csms.received) if m.action == "BootNotification"]
    assert len(boots) == 2  # Pending, then Accepted
    assert csms.received.index(events[0]) > boots[-1]
    log = await agent.client.security.entries()
    assert log[0]["type"] == "StartupOfTheDevice"


def signing_material(tmp: Path) -> tuple[Ca, str, ec.EllipticCurvePrivateKey]:
    maker = Ca.make("Manufacturer Root")
    key = ec.generate_private_key(ec.SECP256R1())
    cert = maker.issue(key.public_key(), _name("Firmware Signer"))
    return maker, cert_pem(cert).decode(), key


async def install_manufacturer_root(csms: Csms, ca: Ca) -> None:
    res = await csms.call(
        call.InstallCertificate(
            certificate_type="ManufacturerRootCertificate", certificate=cert_pem(ca.cert).decode()
        )
    )
    assert res.status == "Accepted"


async def signed_request(
    tmp_path: Path, csms: Csms, files: Files, request_id: int, signed: bytes
) -> call.SignedUpdateFirmware:
    """A SignedUpdateFirmware for IMAGE whose signature is over `signed`."""
    maker, signer_pem, key = signing_material(tmp_path)
    await install_manufacturer_root(csms, maker)
    signature = base64.b64encode(key.sign(signed, ec.ECDSA(hashes.SHA256()))).decode()
    fw = {
        "location": f"{files.url}/fw/signed.bin",
        "retrieveDateTime": now_iso(),
        "signingCertificate": signer_pem,
        "signature": signature,
    }
    return call.SignedUpdateFirmware(request_id=request_id, firmware=fw)


async def test_signed_update_firmware(
    tmp_path: Path, csms: Csms, files: Files, agent_factory: AgentFactory
) -> None:
    await online(csms, agent_factory)
    res = await csms.call(await signed_request(tmp_path, csms, files, 7, IMAGE))
    assert res.status == "Accepted"
    await csms.wait_for(
        "SignedFirmwareStatusNotification", pred=lambda m: m.payload["status"] == "Installed"
    )
    assert statuses(csms, "SignedFirmwareStatusNotification") == [
        "Downloading", "Downloaded", "SignatureVerified", "Installing", "Installed",
    ]  # fmt: skip


async def test_signed_update_firmware_bad_signature(
    tmp_path: Path, csms: Csms, files: Files, agent_factory: AgentFactory
) -> None:
    await online(csms, agent_factory)
    await csms.call(await signed_request(tmp_path, csms, files, 8, b"another image"))
    await csms.wait_for(
        "SignedFirmwareStatusNotification", pred=lambda m: m.payload["status"] == "InvalidSignature"
    )
    await csms.wait_for(
        "SecurityEventNotification", pred=lambda m: m.payload["type"] == "InvalidFirmwareSignature"
    )


async def test_signed_update_firmware_untrusted_certificate(
    tmp_path: Path, csms: Csms, agent_factory: AgentFactory
) -> None:
    await online(csms, agent_factory)
    _, signer_pem, _ = signing_material(tmp_path)  # its root is not installed
    fw = {"location": "http://127.0.0.1:1/x.bin", "retrieveDateTime": now_iso(),
          "signingCertificate": signer_pem, "signature": "AAAA"}  # fmt: skip
    res = await csms.call(call.SignedUpdateFirmware(request_id=9, firmware=fw))
    assert res.status == "InvalidCertificate"
    await csms.wait_for(
        "SecurityEventNotification",
        pred=lambda m: m.payload["type"] == "InvalidFirmwareSigningCertificate",
    )


async def test_install_list_and_delete_certificates(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    await online(csms, agent_factory)
    none = await csms.call(
        call.GetInstalledCertificateIds(certificate_type="CentralSystemRootCertificate")
    )
    assert none.status == "NotFound"
    root = Ca.make("Another CSMS Root")
    pem = cert_pem(root.cert).decode()
    ok = await csms.call(
        call.InstallCertificate(certificate_type="CentralSystemRootCertificate", certificate=pem)
    )
    assert ok.status == "Accepted"
    bad = await csms.call(
        call.InstallCertificate(certificate_type="CentralSystemRootCertificate", certificate="junk")
    )
    assert bad.status == "Rejected"
    ids = await csms.call(
        call.GetInstalledCertificateIds(certificate_type="CentralSystemRootCertificate")
    )
    assert ids.status == "Accepted" and len(ids.certificate_hash_data) == 1
    h = ids.certificate_hash_data[0]
    res = await csms.call(call.DeleteCertificate(certificate_hash_data=h))
    assert res.status == "Accepted"
    again = await csms.call(call.DeleteCertificate(certificate_hash_data=h))
    assert again.status == "NotFound"


async def test_sign_certificate_then_mutual_tls_with_the_new_certificate(
    tmp_path: Path, csms_factory, agent_factory: AgentFactory
) -> None:
    """ExtendedTriggerMessage -> SignCertificate (CSR) -> CertificateSigned -> profile 3 uses it."""
    ca, cp_ca = Ca.make(), Ca.make("CPO Root")
    first_cert, first_key = cp_ca.write_pair(tmp_path, "factory", "CP1")
    csms = await csms_factory(Quirks(), ssl_context=server_tls(tmp_path, ca, cp_ca))
    agent = await agent_factory(
        csms.url, security_profile=3, ca_file=str(ca.write_root(tmp_path)),
        client_cert=str(first_cert), client_key=str(first_key),
    )  # fmt: skip
    await agent.accepted()
    res = await csms.call(
        call.ExtendedTriggerMessage(requested_message="SignChargePointCertificate")
    )
    assert res.status == "Accepted"
    await until(lambda: bool(csms.csrs), 10, "CSR")
    signed = cp_ca.sign_csr(csms.csrs[0])
    chain = (cert_pem(signed) + cert_pem(cp_ca.cert)).decode()
    res = await csms.call(call.CertificateSigned(certificate_chain=chain))
    assert res.status == "Accepted"
    await until(lambda: csms.connections == 2, 10, "reconnected with the new certificate")
    await agent.accepted()
    assert agent.client.target().client_cert.endswith("cp.pem")
    wrong = await csms.call(call.CertificateSigned(certificate_chain=chain))
    assert wrong.status == "Rejected"  # no CSR pending any more


@pytest.mark.parametrize("signed_by_vendor", [True, False])
async def test_update_firmware_installs_a_signed_bundle(
    csms: Csms,
    files: Files,
    agent_factory: AgentFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    signed_by_vendor: bool,
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from ncpa.updates import firmware_installer
    from ncpa.updates.sign import build_bundle
    from ncpa.updates.slots import Releases

    vendor = ed25519.Ed25519PrivateKey.generate()
    pinned = tmp_path / "vendor-signing.pem"
    pinned.write_bytes(
        vendor.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    release = tmp_path / "tree" / "ncpa"
    release.mkdir(parents=True)
    (release / "__init__.py").write_text('__version__ = "9.9.9"\n')
    signer = vendor if signed_by_vendor else ed25519.Ed25519PrivateKey.generate()
    build_bundle(tmp_path / "tree", "9.9.9", signer, tmp_path / "ncpa-9.9.9.tar")
    files.image = (tmp_path / "ncpa-9.9.9.tar").read_bytes()

    agent = await online(csms, agent_factory)
    restarts: list[bool] = []
    monkeypatch.setattr(firmware_installer, "RESTART_DELAY_S", 0.01)
    data_dir = tmp_path / "data"
    agent.client.firmware.installer = firmware_installer.bundle_installer(
        data_dir, pinned, 60.0, lambda: restarts.append(True)
    )
    await csms.call(
        call.UpdateFirmware(location=f"{files.url}/fw/ncpa-9.9.9.tar", retrieve_date=now_iso())
    )
    final = "Installed" if signed_by_vendor else "InstallationFailed"
    await csms.wait_for("FirmwareStatusNotification", pred=lambda m: m.payload["status"] == final)
    releases = Releases(data_dir)
    if signed_by_vendor:
        await until(lambda: bool(restarts), 5, "restart requested")
        assert releases.current_version() == "9.9.9"
    else:  # a foreign signature: nothing installed, no restart
        assert releases.current_version() is None and not restarts
