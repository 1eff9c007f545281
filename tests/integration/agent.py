"""A real `ncpa run --sim` process for integration tests, driven through the simulator
control API (and read through the agent's view of it, GET /sim/agent)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.ports import free_port

REPO = Path(__file__).resolve().parents[2]

BASE_CONFIG = """
[station]
id = "NCPA-IT-0001"
serial = "IT0001"

[charging]
authentication_mode = "{auth_mode}"
lock_mode = "UNLOCKED"
station_max_current = 16
meter_interval = 0.2
durable_meter_interval = 0.2

[api]
host = "127.0.0.1"
port = {api_port}

[energy]
load_shedding = "NO"
"""


class Agent:
    def __init__(self, tmp: Path, auth_mode: str = "PLUGNCHARGE", extra: str = "") -> None:
        self.tmp = tmp
        self.data_dir = tmp / "data"
        self.sim_port = free_port()
        self.api_port = free_port()
        self.config = tmp / "ncpa.toml"
        self.config.write_text(
            BASE_CONFIG.format(auth_mode=auth_mode, api_port=self.api_port) + extra
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.lines: list[dict[str, Any]] = []
        self._ready = threading.Event()

    # -- process ---------------------------------------------------------------

    def start(self, timeout: float = 20.0) -> Agent:
        self._ready.clear()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("NOTIFY_SOCKET", None)
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "ncpa", "run", "--sim",
                "--config", str(self.config),
                "--data-dir", str(self.data_dir),
                "--sim-port", str(self.sim_port),
                "--log-format", "json",
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        threading.Thread(target=self._read_logs, args=(self.proc,), daemon=True).start()
        if not self._ready.wait(timeout):
            self.kill9()
            raise AssertionError("agent not ready:\n" + "\n".join(map(str, self.lines[-30:])))
        return self

    def _read_logs(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            try:
                line = json.loads(raw)
            except ValueError:
                line = {"event": raw.decode(errors="replace").rstrip()}
            self.lines.append(line)
            if line.get("event") == "ncpa.ready":
                self._ready.set()

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill9()
                raise
        return self.proc.returncode

    # -- the simulator control API --------------------------------------------------

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.sim_port}{path}", data=data, method=method
        )
        req.add_header("content-type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.request("POST", path, body or {})

    def post_error(self, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        data = json.dumps(body).encode()
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.sim_port}{path}", data=data, method="POST"
        )
        try:
            urllib.request.urlopen(req, timeout=10)
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())
        raise AssertionError("expected an error")

    def sim(self) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", "/sim")
        return result

    def agent(self) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", "/sim/agent")
        return result

    def connector(self, cid: int = 1) -> dict[str, Any]:
        return next(c for c in self.agent()["connectors"] if c["id"] == cid)

    def hw(self, cid: int = 1) -> dict[str, Any]:
        return next(c for c in self.sim()["connectors"] if c["id"] == cid)

    def status(self, cid: int = 1) -> str:
        return str(self.connector(cid)["status"])

    def wait(self, cond: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or cond}; agent: {self.agent()}")
            time.sleep(0.02)
