"""Boot reasons (2.0.1 BootNotification.reason): what the previous run left in the store
decides them; the stories boot a real agent against the v201 CSMS, one the real daemon
killed with -9 while systemd's watchdog watched it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from ncpa.ocpp.boot_reason import BootReasons, decide, kernel_boot_id
from tests.api.keys import CP_ID, AuthServer
from tests.ocpp.conftest import AgentFactory
from tests.ocpp.csms import Quirks
from tests.ocpp.csms201 import Csms201
from tests.ocpp.daemon import free_port
from tests.ocpp.v201.stories import online, power_off

BOOT = "4b1d-boot"


def run(clean: bool, watched: bool = False, firmware: str = "1.0", boot_id: str = BOOT) -> dict:
    return {"clean": clean, "watched": watched, "firmware": firmware, "boot_id": boot_id}


@pytest.mark.parametrize(
    ("explicit", "last", "expected"),
    [
        ("", None, "PowerUp"),  # the first start of this database
        ("", run(clean=True), "PowerUp"),  # stopped, started again (or a power cycle)
        ("", run(clean=False, boot_id="other-boot"), "PowerUp"),  # a power cut
        ("", run(clean=False, watched=True), "Watchdog"),
        ("", run(clean=False, watched=False), "ApplicationReset"),
        ("RemoteReset", run(clean=True), "RemoteReset"),
        ("ScheduledReset", run(clean=True), "ScheduledReset"),
        ("LocalReset", run(clean=True), "LocalReset"),
        ("LocalReset", run(clean=True, firmware="0.9"), "FirmwareUpdate"),  # an update bundle
        ("", run(clean=False, watched=True, firmware="0.9"), "FirmwareUpdate"),
        ("Bogus", run(clean=True), "PowerUp"),
    ],
)
def test_decide(explicit: str, last: dict | None, expected: str) -> None:
    assert decide(explicit, last, "1.0", BOOT) == expected


def test_no_kernel_boot_id_is_never_a_watchdog(tmp_path: Path) -> None:
    assert kernel_boot_id(tmp_path / "missing") == ""
    assert decide("", run(clean=False, watched=True, boot_id=""), "1.0", "") == "PowerUp"


async def boot_reason_after(
    csms: Csms201, agent_factory: AgentFactory, data_dir: Path, **last: object
) -> str:
    """Leave a previous run's record in the store, then boot an agent on it."""
    agent = await agent_factory(csms.url, version="2.0.1", data_dir=data_dir, start=False)
    client = agent.client
    previous = BootReasons(
        agent.station.store,
        str(last.get("firmware", client.firmware_version)),
        bool(last.get("watched", False)),
        kernel_boot_id(),
    )
    await previous.at_start()
    if last.get("clean"):
        await previous.at_stop()
    before = len(csms.calls("BootNotification"))
    await client.start()
    await agent.accepted()
    return str(csms.calls("BootNotification")[before].payload["reason"])


needs_boot_id = pytest.mark.skipif(not kernel_boot_id(), reason="no kernel boot id here")


@needs_boot_id
async def test_watchdog_and_application_reset(
    tmp_path: Path, csms: Csms201, agent_factory: AgentFactory
) -> None:
    assert await boot_reason_after(csms, agent_factory, tmp_path / "a", watched=True) == "Watchdog"
    reason = await boot_reason_after(csms, agent_factory, tmp_path / "b", watched=False)
    assert reason == "ApplicationReset"


async def test_firmware_update_and_clean_stop(
    tmp_path: Path, csms: Csms201, agent_factory: AgentFactory
) -> None:
    reason = await boot_reason_after(csms, agent_factory, tmp_path / "a", firmware="0.0.1")
    assert reason == "FirmwareUpdate"
    reason = await boot_reason_after(csms, agent_factory, tmp_path / "b", clean=True)
    assert reason == "PowerUp"


async def test_local_reset(tmp_path: Path, csms: Csms201, agent_factory: AgentFactory) -> None:
    """The local API's reboot (the daemon calls note_restart("LocalReset") first)."""
    first = await online(csms, agent_factory, data_dir=tmp_path / "d")
    first.client.note_restart("LocalReset")
    await power_off(first)
    boots = len(csms.calls("BootNotification"))
    await online(csms, agent_factory, data_dir=tmp_path / "d")
    assert csms.calls("BootNotification")[boots].payload["reason"] == "LocalReset"


def spawn(
    tmp: Path, csms_port: int, env: dict[str, str], api_port: int = 0, extra: str = ""
) -> subprocess.Popen[bytes]:
    station = CP_ID if extra else "CP1"
    port = api_port or free_port()
    config = f'[station]\nid = "{station}"\n[api]\nhost = "127.0.0.1"\nport = {port}\n'
    (tmp / "ncpa.toml").write_text(config + extra)
    cmd = [
        sys.executable, "-m", "ncpa", "run", "--sim",
        "--config", str(tmp / "ncpa.toml"),
        "--data-dir", str(tmp / "data"),
        "--csms-url", f"ws://127.0.0.1:{csms_port}/ocpp",
        "--ocpp-version", "2.0.1",
        "--sim-port", str(free_port()),
    ]  # fmt: skip
    log = open(tmp / "agent.log", "ab")  # noqa: SIM115  # closed with the process
    return subprocess.Popen(
        cmd, stdout=log, stderr=log, start_new_session=True, env={**os.environ, **env}
    )


@needs_boot_id
async def test_the_daemon_killed_under_the_watchdog_boots_with_watchdog(tmp_path: Path) -> None:
    csms = await Csms201(Quirks(subprotocols=["ocpp2.0.1"])).start()
    # what systemd gives a Type=notify unit with WatchdogSec= (no socket: pings go nowhere)
    watched = {"WATCHDOG_USEC": "60000000"}
    proc = spawn(tmp_path, csms.port, watched)
    try:
        boot = await csms.wait_for("BootNotification", within=30)
        assert boot[0].payload["reason"] == "PowerUp"
        await csms.wait_for("StatusNotification", within=10)
        os.killpg(proc.pid, signal.SIGKILL)  # what systemd does when the pings stop
        await asyncio.to_thread(proc.wait, 10)
        proc = spawn(tmp_path, csms.port, watched)
        boots = await csms.wait_for("BootNotification", 2, within=30)
        assert boots[1].payload["reason"] == "Watchdog"
        # a clean stop (SIGTERM) then a start is no watchdog restart
        os.killpg(proc.pid, signal.SIGTERM)
        await asyncio.to_thread(proc.wait, 20)
        proc = spawn(tmp_path, csms.port, watched)
        boots = await csms.wait_for("BootNotification", 3, within=30)
        assert boots[2].payload["reason"] == "PowerUp"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            await asyncio.to_thread(proc.wait, 10)
        await csms.stop()


async def test_the_local_api_reboot_boots_with_local_reset(tmp_path: Path) -> None:
    """POST /config/reboot of the real daemon: it restarts itself and says LocalReset."""
    auth = AuthServer()
    keys = auth.write(tmp_path / "keys")
    csms = await Csms201(Quirks(subprotocols=["ocpp2.0.1"])).start()
    api_port = free_port()
    extra = f'[local_api]\nkeys_dir = "{keys}"\n'
    proc = spawn(tmp_path, csms.port, {}, api_port, extra)
    try:
        boot = await csms.wait_for("BootNotification", within=30)
        assert boot[0].payload["reason"] == "PowerUp"
        base = f"http://127.0.0.1:{api_port}"
        async with aiohttp.ClientSession() as http:
            params = {"token": auth.token("installer"), "clientId": "phone-1"}
            async with http.get(f"{base}/auth", params=params) as r:
                assert r.status == 200, await r.text()
                token = (await r.json())["accessToken"]
            headers = {"Authorization": f"Bearer {token}"}
            reboot = f"{base}/config/reboot"
            async with http.post(reboot, headers=headers, params={"clientId": "phone-1"}) as r:
                assert r.status == 204, await r.text()
        boots = await csms.wait_for("BootNotification", 2, within=30)
        assert boots[1].payload["reason"] == "LocalReset"
        assert proc.poll() is None  # the same process, started again (exec)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            await asyncio.to_thread(proc.wait, 10)
        await csms.stop()
