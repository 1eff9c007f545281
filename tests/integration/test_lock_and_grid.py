"""The real `ncpa run --sim` process (issue 13, items 4 and 5): an unlock in LOCKED mode
must not hold the lock open for the next sessions; a plug-in or a resume must not halve the
offer for a grid "measurement" that is the charger's own, not yet measured, draw."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.agent import REPO, Agent


class LocalApi:
    """The agent's local API (plain HTTP on loopback), paired with a development QR label."""

    def __init__(self, agent: Agent) -> None:
        self.base = f"http://127.0.0.1:{agent.api_port}"
        label = subprocess.run(
            [sys.executable, "-m", "ncpa", "qr", "--id", "NCPA-IT-0001", "--role", "installer",
             "--format", "token"],
            cwd=REPO, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        self.token = self.call("GET", "/auth", token=label)["accessToken"]

    def call(self, method: str, path: str, **params: str) -> Any:
        query = "&".join(f"{k}={v}" for k, v in {"clientId": "it", **params}.items())
        req = urllib.request.Request(f"{self.base}{path}?{query}", method=method, data=b"")
        if hasattr(self, "token"):
            req.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
            return json.loads(body) if body else None


def charging(a: Agent) -> bool:
    return a.status() == "Charging" and bool(a.hw()["contactor"]["closed"])


@pytest.fixture
def whitelist_agent(tmp_path: Path) -> Iterator[Agent]:
    a = Agent(tmp_path, auth_mode="WHITELIST").start()
    yield a
    a.stop()


def test_unlock_in_locked_mode_does_not_stick_to_later_sessions(whitelist_agent: Agent) -> None:
    a = whitelist_agent
    api = LocalApi(a)
    api.call("POST", "/config/socket-permanent-lock-mode", socketLockMode="LOCKED")
    a.wait(lambda: a.hw()["lock"]["locked"], what="locked in LOCKED mode")
    api.call("POST", "/charging/unlock")  # no session: the installer frees the socket
    a.wait(lambda: not a.hw()["lock"]["locked"], what="unlocked")
    api.call("POST", "/config/socket-permanent-lock-mode", socketLockMode="UNLOCKED")
    for tag in ("CARD1", "CARD2"):  # this session and the next
        api.call("POST", "/charging/start", tag=tag)
        a.post("/sim/connectors/1/plug")
        # was: SuspendedEVSE with 0 A, the lock held open by the LOCKED mode's unlock window
        a.wait(lambda: charging(a), timeout=8, what="charging")
        assert a.hw()["lock"]["locked"] and a.connector()["offered_current"] >= 6
        a.post("/sim/connectors/1/unplug")
        a.wait(lambda: a.status() == "Available", what="available")
        a.wait(lambda: not a.hw()["lock"]["locked"], what="unlocked after the session")


GRID = """
[energy]
load_shedding = "P1"
grid_max_current = 25
"""


@pytest.fixture
def grid_agent(tmp_path: Path) -> Iterator[Agent]:
    a = Agent(tmp_path)
    text = a.config.read_text().replace('[energy]\nload_shedding = "NO"\n', GRID)
    # the factory meter interval (1 s), as on a charger: the grid meter reads in between
    a.config.write_text(text.replace("meter_interval = 0.2\n", "meter_interval = 1.0\n"))
    a.start()
    yield a
    a.stop()


def watch_offers(a: Agent, seconds: float) -> list[float]:
    """The pilot offers of the simulated hardware, sampled while charging."""
    seen: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        hw = a.hw()
        if hw["contactor"]["closed"]:
            seen.append(float(hw["offered_current"]))
        time.sleep(0.05)
    return seen


def test_plug_in_and_resume_keep_the_offer_with_an_idle_household(grid_agent: Agent) -> None:
    a = grid_agent
    a.request("POST", "/sim/grid", {"currents": [0, 0, 0]})
    lines_before = len(a.lines)
    # a plug-in, then a resume
    a.post("/sim/connectors/1/plug")
    a.wait(lambda: charging(a), what="charging")
    offers = watch_offers(a, 3.0)
    assert offers and min(offers) == 16.0, offers  # was: 8 A for about 5 s
    a.post("/sim/connectors/1/ev", {"state": "B"})  # the EV pauses ...
    a.wait(lambda: a.status() == "SuspendedEV", what="paused")
    time.sleep(0.5)
    a.post("/sim/connectors/1/ev", {"state": "C"})  # ... and resumes
    a.wait(lambda: charging(a), what="charging again")
    offers = watch_offers(a, 3.0)
    assert offers and min(offers) == 16.0, offers
    a.post("/sim/connectors/1/unplug")
    a.wait(lambda: a.status() == "Available", what="available")
    grid_limits = [
        x for x in a.lines[lines_before:]
        if x.get("event") == "limit.source" and x.get("source") == "grid"
    ]  # fmt: skip
    assert all(float(x.get("amps", 0)) >= 16 for x in grid_limits), grid_limits


def test_a_real_household_load_still_reduces_at_once(grid_agent: Agent) -> None:
    a = grid_agent
    a.request("POST", "/sim/grid", {"currents": [0, 0, 0]})
    a.post("/sim/connectors/1/plug")
    a.wait(lambda: charging(a), what="charging")
    a.request("POST", "/sim/grid", {"currents": [15, 2, 2]})  # 25 - 15 - 1 margin = 9 A
    a.wait(lambda: a.hw()["offered_current"] <= 9.0, timeout=5, what="reduced to 9 A")
