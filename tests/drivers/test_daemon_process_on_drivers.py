"""The real `ncpa run` process (no --sim) on the real drivers, as in the integration tests
on the simulator (tests/integration): a plug-and-charge session with its energy, and a
whitelisted card on the reader. The devices are emulated in this test process at the
protocol level: the meter is a Modbus TCP server, the OpenEVSE and the PN532 speak on
ptys that the daemon opens as serial ports. GPIO uses gpiozero's mock pins inside the
daemon (hardware.gpio_pin_factory = "mock"), so this build has no pin wiring to emulate:
the contactor is the controller's relay (feedback from its state) and the cable is
tethered (no lock)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.drivers.rig import Rig, emulated_rig
from tests.drivers.waiting import until
from tests.integration.agent import REPO, Agent
from tests.integration.test_daemon_sessions import seed_whitelist, transactions

HARDWARE = """
[clock]
wait_for_sync = 0

[hardware]
gpio_pin_factory = "mock"

[[hardware.connectors]]
[hardware.connectors.meter]
backend = "modbus-tcp"
model = "sdm630"
host = "127.0.0.1"
tcp_port = {meter_port}
timeout = 0.3
retries = 0

[hardware.connectors.evcc]
backend = "rapi"
port = "{evcc_port}"
poll_interval = 0.1
link_timeout = 1.0

[hardware.connectors.contactor]
backend = "rapi"

[hardware.shunt]
pin = 26

[hardware.rfid]
backend = "pn532"
port = "{rfid_port}"
release = 0.5
"""


class DriverAgent(Agent):
    """tests.integration.agent.Agent, started on real hardware drivers instead of --sim."""

    def __init__(self, tmp: Path, rig: Rig, auth_mode: str) -> None:
        hardware = HARDWARE.format(
            meter_port=rig.meter.port, evcc_port=rig.evcc.path, rfid_port=rig.rfid.path
        )
        super().__init__(tmp, auth_mode, extra=hardware)
        # the same base config as on the simulator, for a tethered cable (no lock pins)
        text = self.config.read_text().replace("[station]\n", "[station]\nhas_lock = false\n", 1)
        self.config.write_text(text)

    def start(self, timeout: float = 20.0) -> DriverAgent:
        self._ready.clear()
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "ncpa", "run", "--config", str(self.config),
                "--data-dir", str(self.data_dir), "--log-format", "json",
            ],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        threading.Thread(target=self._read_logs, args=(self.proc,), daemon=True).start()
        return self

    def logged(self, event: str, **fields: Any) -> bool:
        return any(
            line.get("event") == event and all(line.get(k) == v for k, v in fields.items())
            for line in list(self.lines)
        )


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with emulated_rig(contactor="rapi") as r:
        yield r


async def run_agent(agent: DriverAgent) -> None:
    agent.start()
    await until(agent._ready.is_set, limit=20)


async def stop_agent(agent: DriverAgent) -> int:
    return await asyncio.to_thread(agent.stop)


def _dump(agent: DriverAgent) -> str:
    return "\n".join(json.dumps(line) for line in agent.lines[-40:])


async def test_plugncharge_session_energy_on_unplug(rig: Rig, tmp_path: Path) -> None:
    agent = DriverAgent(tmp_path, rig, "PLUGNCHARGE")
    await run_agent(agent)
    try:
        assert not rig.evcc.enabled  # nothing offered without a session
        rig.evcc.set_pilot("B")
        await until(lambda: rig.evcc.enabled and rig.evcc.amps == 16, limit=10)
        rig.evcc.set_pilot("C")
        await until(lambda: agent.logged("contactor", closed=True), limit=10)
        await until(lambda: agent.logged("status", status="Charging"), limit=10)
        rig.meter.values["energy_import"] += 250.0
        await asyncio.sleep(0.6)  # a few meter reads
        rig.evcc.set_pilot("B")
        rig.evcc.set_pilot("A")
        # the boot's "Available" is in the log already: wait for the transaction's end first
        await until(lambda: agent.logged("transaction.stopped", connector=1), limit=10)
        await until(lambda: agent.logged("status", status="Available", connector=1), limit=10)
        await until(lambda: not rig.evcc.enabled)
    finally:
        assert await stop_agent(agent) == 0, _dump(agent)
    ((_, tag, start, stop, reason),) = transactions(agent.data_dir)
    assert reason == "EVDisconnected" and stop is not None
    assert stop - start == pytest.approx(250.0)
    assert tag


async def test_whitelisted_card_on_the_reader(rig: Rig, tmp_path: Path) -> None:
    agent = DriverAgent(tmp_path, rig, "WHITELIST")
    await asyncio.to_thread(seed_whitelist, agent.data_dir, "04A1B2C3D4E5F6")
    await run_agent(agent)
    try:
        rig.evcc.set_pilot("B")
        await until(lambda: agent.logged("status", status="Preparing"), limit=10)
        rig.rfid.card = bytes.fromhex("DEADBEEF")  # not on the list, no CSMS: refused
        await until(lambda: agent.logged("card", uid="DEADBEEF"), limit=10)
        rig.rfid.card = None
        await asyncio.sleep(0.3)
        assert not rig.evcc.enabled
        rig.rfid.card = bytes.fromhex("04A1B2C3D4E5F6")
        await until(lambda: rig.evcc.enabled, limit=10)
        rig.rfid.card = None
        rig.evcc.set_pilot("C")
        await until(lambda: agent.logged("status", status="Charging"), limit=10)
        rig.evcc.set_pilot("A")
        # the boot's "Available" is in the log already: wait for the transaction's end first
        await until(lambda: agent.logged("transaction.stopped", connector=1), limit=10)
        await until(lambda: agent.logged("status", status="Available", connector=1), limit=10)
    finally:
        assert await stop_agent(agent) == 0, _dump(agent)
    ((_, tag, _, _, reason),) = transactions(agent.data_dir)
    assert (tag, reason) == ("04A1B2C3D4E5F6", "EVDisconnected")
