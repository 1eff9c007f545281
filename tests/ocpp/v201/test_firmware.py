"""L Firmware under OCPP 2.0.1 against a real v201 CSMS: signed UpdateFirmware over a
loopback HTTP server, installed into a release slot, the restart into it (BootNotification
FirmwareUpdate, then Installed), and every way the flow can end otherwise."""

from __future__ import annotations

import asyncio
import base64
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from ocpp.v201 import call

from ncpa.updates import firmware_installer
from ncpa.updates.sign import build_bundle
from ncpa.updates.slots import Releases
from tests.ocpp.conftest import Agent, AgentFactory, until
from tests.ocpp.csms201 import Csms201
from tests.ocpp.pki import Ca, _name, cert_pem
from tests.ocpp.v16.test_firmware_security import IMAGE, Files, files  # noqa: F401 (fixture)
from tests.ocpp.v201.stories import online


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def statuses(csms: Csms201) -> list[str]:
    return [m.payload["status"] for m in csms.calls("FirmwareStatusNotification")]


async def final(csms: Csms201, status: str) -> None:
    await csms.wait_for("FirmwareStatusNotification", pred=lambda m: m.payload["status"] == status)


class Signer:
    """A manufacturer root (installed over OCPP) and a firmware signing key it certified."""

    def __init__(self) -> None:
        self.root = Ca.make("Manufacturer Root")
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cert = cert_pem(self.root.issue(self.key.public_key(), _name("Firmware Signer")))

    async def install_root(self, csms: Csms201) -> None:
        res = await csms.call(
            call.InstallCertificate(
                certificate_type="ManufacturerRootCertificate",
                certificate=cert_pem(self.root.cert).decode(),
            )
        )
        assert res.status == "Accepted"

    def request(
        self,
        server: Files,
        request_id: int,
        signed: bytes,
        retrieve: float | None = None,
        **kw: Any,
    ) -> call.UpdateFirmware:
        signature = base64.b64encode(self.key.sign(signed, ec.ECDSA(hashes.SHA256()))).decode()
        firmware = {
            "location": f"{server.url}/fw/ncpa-9.9.9.tar",
            "retrieve_date_time": iso(retrieve or time.time()),
            "signing_certificate": self.cert.decode(),
            "signature": signature,
            **kw,
        }
        return call.UpdateFirmware(request_id=request_id, firmware=firmware, retry_interval=0)


@pytest.fixture
def signer() -> Signer:
    return Signer()


def bundle(tmp_path: Path, vendor: ed25519.Ed25519PrivateKey, signed_by_vendor: bool) -> bytes:
    release = tmp_path / "tree" / "ncpa"
    release.mkdir(parents=True)
    (release / "__init__.py").write_text('__version__ = "9.9.9"\n')
    by = vendor if signed_by_vendor else ed25519.Ed25519PrivateKey.generate()
    build_bundle(tmp_path / "tree", "9.9.9", by, tmp_path / "ncpa-9.9.9.tar")
    return (tmp_path / "ncpa-9.9.9.tar").read_bytes()


def release_slots(
    agent: Agent, tmp_path: Path, vendor: ed25519.Ed25519PrivateKey, restarts: list[bool]
) -> Releases:
    """The daemon's installer: a vendor-signed bundle into a new slot, then a restart."""
    pinned = tmp_path / "vendor-signing.pem"
    pinned.write_bytes(
        vendor.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    slots = tmp_path / "slots"
    fw = agent.client.firmware
    fw.installer = firmware_installer.bundle_installer(
        slots, pinned, 60.0, lambda: restarts.append(True)
    )
    fw.reboots = True
    return Releases(slots)


async def restarted(
    agent: Agent, agent_factory: AgentFactory, csms: Csms201, data_dir: Path, version: str
) -> Agent:
    """The process restart: the same data directory, running `version`."""
    await agent.client.stop()
    await agent.station.stop()
    await agent.station.store.close()
    again = await agent_factory(csms.url, version="2.0.1", data_dir=data_dir, start=False)
    again.client.firmware_version = again.client.ctx.firmware_version = version
    await again.client.start()
    await again.accepted()
    return again


@pytest.mark.parametrize("new_release_runs", [True, False])
async def test_signed_image_into_a_release_slot_and_the_reboot_into_it(
    tmp_path: Path,
    csms: Csms201,
    files: Files,  # noqa: F811
    signer: Signer,
    agent_factory: AgentFactory,
    monkeypatch: pytest.MonkeyPatch,
    new_release_runs: bool,
) -> None:
    monkeypatch.setattr(firmware_installer, "RESTART_DELAY_S", 0.01)
    vendor = ed25519.Ed25519PrivateKey.generate()
    files.image = bundle(tmp_path, vendor, signed_by_vendor=True)
    data_dir = tmp_path / "data"
    agent = await online(csms, agent_factory, data_dir=data_dir)
    restarts: list[bool] = []
    releases = release_slots(agent, tmp_path, vendor, restarts)
    await signer.install_root(csms)
    res = await csms.call(signer.request(files, 17, files.image))
    assert res.status == "Accepted"
    await final(csms, "InstallRebooting")
    assert statuses(csms) == [
        "Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallRebooting",
    ]  # fmt: skip
    assert {m.payload["requestId"] for m in csms.calls("FirmwareStatusNotification")} == {17}
    await until(lambda: bool(restarts), 5, "restart requested")
    assert releases.current_version() == "9.9.9"
    # the agent comes back: from the new release, or the old one (the boot check rolled back)
    boots = len(csms.calls("BootNotification"))
    version = "9.9.9" if new_release_runs else agent.client.firmware_version
    await restarted(agent, agent_factory, csms, data_dir, version)
    assert csms.calls("BootNotification")[boots].payload["reason"] == "FirmwareUpdate"
    assert (
        csms.calls("BootNotification")[boots].payload["chargingStation"]["firmwareVersion"]
        == version
    )
    outcome = "Installed" if new_release_runs else "InstallVerificationFailed"
    await final(csms, outcome)
    last = csms.calls("FirmwareStatusNotification")[-1].payload
    assert last == {"status": outcome, "requestId": 17}
    events = [m.payload["type"] for m in csms.calls("SecurityEventNotification")]
    assert ("FirmwareUpdated" in events) is new_release_runs


async def test_a_bundle_the_vendor_did_not_sign_is_not_installed(
    tmp_path: Path,
    csms: Csms201,
    files: Files,  # noqa: F811
    signer: Signer,
    agent_factory: AgentFactory,
) -> None:
    """The OCPP signature is good (the CSMS signed what it sent), but the bundle inside is
    not from the pinned vendor key: no slot, no restart, InstallationFailed."""
    vendor = ed25519.Ed25519PrivateKey.generate()
    files.image = bundle(tmp_path, vendor, signed_by_vendor=False)
    agent = await online(csms, agent_factory)
    restarts: list[bool] = []
    releases = release_slots(agent, tmp_path, vendor, restarts)
    await signer.install_root(csms)
    await csms.call(signer.request(files, 18, files.image))
    await final(csms, "InstallationFailed")
    assert statuses(csms)[-2:] == ["Installing", "InstallationFailed"]
    assert releases.current_version() is None and not restarts
    from ncpa.ocpp.boot_reason import EXPLICIT_KEY as BOOT_REASON_KEY

    assert await agent.station.store.get_setting(BOOT_REASON_KEY) == ""


async def test_a_foreign_signature_is_refused_after_download(
    csms: Csms201,
    files: Files,  # noqa: F811
    signer: Signer,
    agent_factory: AgentFactory,
) -> None:
    await online(csms, agent_factory)
    await signer.install_root(csms)
    await csms.call(signer.request(files, 19, b"some other image"))
    await final(csms, "InvalidSignature")
    assert statuses(csms) == ["Downloading", "Downloaded", "InvalidSignature"]
    await csms.wait_for(
        "SecurityEventNotification", pred=lambda m: m.payload["type"] == "InvalidFirmwareSignature"
    )


async def test_an_untrusted_or_missing_signing_certificate_is_refused_at_once(
    csms: Csms201,
    files: Files,  # noqa: F811
    signer: Signer,
    agent_factory: AgentFactory,
) -> None:
    await online(csms, agent_factory)
    res = await csms.call(signer.request(files, 20, IMAGE))  # its root is not installed
    assert res.status == "InvalidCertificate"
    unsigned = call.UpdateFirmware(
        request_id=21,
        firmware={"location": f"{files.url}/fw/x.bin", "retrieve_date_time": iso(time.time())},
    )
    res = await csms.call(unsigned)
    assert res.status == "InvalidCertificate"
    assert res.status_info["reason_code"] == "UnsignedFirmware"
    bad_url = signer.request(files, 22, IMAGE)
    bad_url.firmware["location"] = "file:///etc/passwd"
    assert (await csms.call(bad_url)).status == "Rejected"
    await csms.wait_for(
        "SecurityEventNotification",
        2,
        lambda m: m.payload["type"] == "InvalidFirmwareSigningCertificate",
    )
    assert files.gets == 0 and csms.calls("FirmwareStatusNotification") == []


async def test_scheduled_download_then_a_second_request_cancels_it(
    csms: Csms201,
    files: Files,  # noqa: F811
    signer: Signer,
    agent_factory: AgentFactory,
) -> None:
    await online(csms, agent_factory)
    await signer.install_root(csms)
    files.image = IMAGE
    first = await csms.call(signer.request(files, 30, IMAGE, retrieve=time.time() + 3600))
    assert first.status == "Accepted"
    await final(csms, "DownloadScheduled")
    second = await csms.call(
        # installDateTime 3 s ahead: the download (20 kB over loopback) is done well before
        signer.request(files, 31, IMAGE, install_date_time=iso(time.time() + 3))
    )
    assert second.status == "AcceptedCanceled"
    await csms.wait_for(
        "FirmwareStatusNotification", pred=lambda m: m.payload["status"] == "Installed", within=15
    )
    assert [(m.payload["status"], m.payload.get("requestId")) for m in
            csms.calls("FirmwareStatusNotification")] == [
        ("DownloadScheduled", 30), ("Downloading", 31), ("Downloaded", 31),
        ("SignatureVerified", 31), ("InstallScheduled", 31), ("Installing", 31),
        ("Installed", 31),
    ]  # fmt: skip
    assert files.gets == 1


async def test_download_failed_then_idle_on_trigger(
    csms: Csms201,
    files: Files,  # noqa: F811
    signer: Signer,
    agent_factory: AgentFactory,
) -> None:
    await online(csms, agent_factory)
    await signer.install_root(csms)
    files.fail_first = 10
    req = signer.request(files, 40, IMAGE)
    req.retries = 1
    await csms.call(req)
    await final(csms, "DownloadFailed")
    assert statuses(csms) == ["Downloading", "DownloadFailed"] and files.gets == 2
    res = await csms.call(call.TriggerMessage(requested_message="FirmwareStatusNotification"))
    assert res.status == "Accepted"
    await final(csms, "Idle")
    assert csms.calls("FirmwareStatusNotification")[-1].payload == {"status": "Idle"}


async def test_no_second_request_while_an_image_is_being_installed(
    csms: Csms201,
    files: Files,  # noqa: F811
    signer: Signer,
    agent_factory: AgentFactory,
) -> None:
    agent = await online(csms, agent_factory)
    await signer.install_root(csms)
    gate = asyncio.Event()

    async def slow_installer(image: Path) -> bool:
        await gate.wait()
        return True

    agent.client.firmware.installer = slow_installer
    await csms.call(signer.request(files, 50, IMAGE))
    await final(csms, "Installing")
    res = await csms.call(signer.request(files, 51, IMAGE))
    assert res.status == "Rejected" and res.status_info["reason_code"] == "InstallInProgress"
    gate.set()
    await final(csms, "Installed")
    assert {m.payload["requestId"] for m in csms.calls("FirmwareStatusNotification")} == {50}
