"""Updates across real restarts, started exactly as systemd starts the agent: the unit's
own ExecStart (parsed from systemd/ncpa.service), on the real drivers over the emulated
rig. Upload over HTTP, the daemon restarts itself, a reboot (SIGKILL, start again) keeps
the new release; a release that never comes up goes back to the old one after the
documented number of starts; a release changed on disk is refused at start."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from ncpa.updates.sign import build_bundle
from ncpa.updates.slots import TRIAL_STARTS, Releases
from tests.api.keys import CP_ID, AuthServer, pem_public
from tests.deploy.unit import REPO, commands, values
from tests.drivers.rig import Rig, emulated_rig
from tests.drivers.test_daemon_process_on_drivers import DriverAgent
from tests.drivers.waiting import until

AUTH = AuthServer()
VENDOR = ed25519.Ed25519PrivateKey.generate()


class UnitAgent(DriverAgent):
    """The agent started by the unit's ExecStart line, config in a temp folder."""

    def __init__(self, tmp: Path, rig: Rig) -> None:
        super().__init__(tmp, rig, "PLUGNCHARGE")
        keys = AUTH.write(tmp / "keys")
        (keys / "vendor-signing.pem").write_bytes(pem_public(VENDOR))
        text = self.config.read_text().replace('id = "NCPA-IT-0001"', f'id = "{CP_ID}"')
        self.config.write_text(
            f'data_dir = "{self.data_dir}"\n'
            + text
            + f'\n[local_api]\nkeys_dir = "{keys}"\nconfirm_after = 1.0\nhealth_timeout = 60\n'
        )
        self.starts = 0

    def start(self, timeout: float = 20.0) -> UnitAgent:
        (exec_start,) = commands("ExecStart", self.config)
        env = {
            k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "NCPA_BOOT_CHECKED")
        }
        self._ready.clear()
        self.starts += 1
        self.proc = subprocess.Popen(
            exec_start, cwd=self.tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        threading.Thread(target=self._read_logs, args=(self.proc,), daemon=True).start()
        return self

    def versions_ready(self) -> list[str]:
        return [str(x.get("version")) for x in list(self.lines) if x.get("event") == "ncpa.ready"]


def release_tree(tmp: Path, version: str, broken: bool = False) -> Path:
    """The agent's own packages as a release of `version` (broken: it fails at start)."""
    src = tmp / f"tree-{version}"
    for pkg in ("ncpa", "hal", "simulator"):
        shutil.copytree(REPO / pkg, src / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    init = src / "ncpa" / "__init__.py"
    init.write_text(init.read_text().replace('"0.1.0"', f'"{version}"'))
    if broken:
        daemon = src / "ncpa" / "daemon.py"
        daemon.write_text(
            daemon.read_text().replace(
                "    async def run(self) -> int:\n",
                "    async def run(self) -> int:\n        raise RuntimeError('broken release')\n",
            )
        )
    return src


async def upload(agent: UnitAgent, bundle: Path) -> None:
    base = f"http://127.0.0.1:{agent.api_port}"
    async with aiohttp.ClientSession() as http:
        params = {"token": AUTH.token("operator"), "clientId": "phone-1"}
        async with http.get(f"{base}/auth", params=params) as r:
            assert r.status == 200, await r.text()
            token = (await r.json())["accessToken"]
        form = aiohttp.FormData()
        form.add_field("data", await asyncio.to_thread(bundle.read_bytes), filename=bundle.name)
        headers = {"Authorization": f"Bearer {token}"}
        async with http.post(
            f"{base}/upgrade", data=form, headers=headers, params={"clientId": "phone-1"}
        ) as r:
            assert r.status == 200, await r.text()


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with emulated_rig(contactor="rapi") as r:
        yield r


def dump(agent: UnitAgent) -> str:
    return "\n".join(json.dumps(line) for line in agent.lines[-40:])


async def ready(agent: UnitAgent, n: int) -> None:
    try:
        await until(lambda: len(agent.versions_ready()) >= n, limit=30)
    except AssertionError:
        raise AssertionError(dump(agent)) from None


def test_the_unit_counts_a_start_once() -> None:
    assert values("ExecStartPre") == []  # the launcher counts it, nothing else
    (cmd,) = values("ExecStart")
    assert "-m ncpa.updates.launcher run" in cmd and " -I " in cmd


async def test_upload_reboot_keeps_the_new_release(rig: Rig, tmp_path: Path) -> None:
    agent = UnitAgent(tmp_path, rig).start()
    bundle = tmp_path / "ncpa-0.2.0.tar.gz"
    await asyncio.to_thread(build_bundle, release_tree(tmp_path, "0.2.0"), "0.2.0", VENDOR, bundle)
    releases = Releases(agent.data_dir)
    try:
        await ready(agent, 1)
        await upload(agent, bundle)
        await ready(agent, 2)  # the daemon restarted itself into the new release
        assert agent.versions_ready() == ["0.1.0", "0.2.0"]
        pending = releases.pending()
        assert pending is not None and pending.boots == 1
        agent.kill9()  # power cut right after the update, before it reported healthy
        agent.start()
        await ready(agent, 3)
        assert agent.versions_ready()[-1] == "0.2.0"
        await until(lambda: releases.pending() is None, limit=15)  # healthy after confirm_after
        assert releases.last_rollback() is None
        agent.kill9()
        agent.start()  # and any number of reboots after that
        await ready(agent, 4)
        assert agent.versions_ready()[-1] == "0.2.0" and releases.current_version() == "0.2.0"
    finally:
        await asyncio.to_thread(agent.stop)


async def test_release_that_never_comes_up_goes_back(rig: Rig, tmp_path: Path) -> None:
    agent = UnitAgent(tmp_path, rig).start()
    bundle = tmp_path / "ncpa-0.3.0.tar.gz"
    tree = release_tree(tmp_path, "0.3.0", broken=True)
    await asyncio.to_thread(build_bundle, tree, "0.3.0", VENDOR, bundle)
    releases = Releases(agent.data_dir)
    try:
        await ready(agent, 1)
        await upload(agent, bundle)
        # the restart into 0.3.0 fails; systemd (Restart=always) starts it again, as here
        for _ in range(TRIAL_STARTS):
            assert agent.proc is not None
            assert await asyncio.to_thread(agent.proc.wait, 30) == 1, dump(agent)
            if releases.current_version() != "0.3.0":
                break
            agent.start()
        await ready(agent, 2)
        assert agent.versions_ready() == ["0.1.0", "0.1.0"], dump(agent)
        # the factory start, then 0.3.0 failed TRIAL_STARTS times (the upload's restart and
        # systemd's), and the next start rolled back: one count per start, none twice
        assert agent.starts == 1 + TRIAL_STARTS
        rollback = releases.last_rollback()
        assert rollback is not None and rollback["failed"] == "0.3.0"
        assert "without reporting healthy" in rollback["reason"]
        assert releases.current_version() is None  # the factory install again
    finally:
        await asyncio.to_thread(agent.stop)


def tampered_release(tmp: Path, releases: Releases, attack: str) -> None:
    """A healthy release 0.4.0, then changed as the service user could change its data dir."""
    bundle = tmp / "ncpa-0.4.0.tar"
    build_bundle(release_tree(tmp, "0.4.0"), "0.4.0", VENDOR, bundle)
    releases.install(bundle, VENDOR.public_key())
    releases.switch("0.4.0", health_timeout=60)
    releases.mark_healthy()
    slot = releases.root / "0.4.0"
    if attack == "edit":
        with open(slot / "ncpa" / "daemon.py", "a") as f:
            f.write("\nimport os  # planted\n")
    elif attack == "pyc":  # would be imported instead of the checked source
        (slot / "ncpa" / "__pycache__").mkdir()
        (slot / "ncpa" / "__pycache__" / "daemon.cpython-311.pyc").write_bytes(b"planted")
    else:
        (slot / ".ncpa-manifest.sig").write_bytes(b"\0" * 64)


@pytest.mark.parametrize("attack", ["edit", "pyc", "unsigned"])
async def test_release_changed_on_disk_is_refused(rig: Rig, tmp_path: Path, attack: str) -> None:
    agent = UnitAgent(tmp_path, rig)
    releases = Releases(agent.data_dir)
    await asyncio.to_thread(tampered_release, tmp_path, releases, attack)
    agent.start()
    try:
        await ready(agent, 1)
        assert agent.versions_ready() == ["0.1.0"]  # the factory install, not the release
        assert any(x.get("event") == "update.release_refused" for x in agent.lines)
        assert releases.current_version() is None
        rollback = releases.last_rollback()
        assert rollback is not None and rollback["failed"] == "0.4.0"
    finally:
        await asyncio.to_thread(agent.stop)
