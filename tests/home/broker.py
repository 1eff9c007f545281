"""A real mosquitto broker for the tests, on free loopback ports: a plain listener and a
TLS one (certificates made here), both with user/password; killed and restarted at will."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.ocpp.pki import Ca
from tests.ports import free_port

USER = "ncpa"
PASSWORD = "s3cret-home"
SKIP_REASON = "mosquitto not installed (CI installs it: apt-get install -y mosquitto)"


def mosquitto_binary() -> str | None:
    """The broker, when Debian's package is installed (mosquitto_passwd comes with it)."""
    if shutil.which("mosquitto_passwd") is None:
        return None
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/bin/mosquitto") if os.path.exists(p)), None
    )


@dataclass
class Broker:
    directory: Path
    port: int
    tls_port: int
    ca_file: Path
    binary: str
    proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def prepare(cls, directory: Path) -> Broker:
        binary = mosquitto_binary()
        assert binary is not None
        directory.mkdir(parents=True, exist_ok=True)
        ca = Ca.make("Test MQTT Root")
        ca_file = ca.write_root(directory, "ca")
        cert, key = ca.write_pair(directory, "server", "localhost", server=True)
        passwd = directory / "passwd"
        passwd.write_text("")
        subprocess.run(
            ["mosquitto_passwd", "-b", str(passwd), USER, PASSWORD], check=True, capture_output=True
        )
        broker = cls(directory, free_port(), free_port(), ca_file, binary)
        (directory / "mosquitto.conf").write_text(
            "\n".join(
                [
                    # as root mosquitto drops to user "mosquitto", who cannot read pytest's tmp
                    *(["user root"] if os.geteuid() == 0 else []),
                    "persistence false",  # a restart loses the retained state: we republish
                    "allow_anonymous false",
                    f"password_file {passwd}",
                    "log_dest stdout",
                    f"listener {broker.port} 127.0.0.1",
                    f"listener {broker.tls_port} 127.0.0.1",
                    f"cafile {ca_file}",
                    f"certfile {cert}",
                    f"keyfile {key}",
                    "",
                ]
            )
        )
        return broker

    def _spawn(self) -> subprocess.Popen[bytes]:
        with open(self.directory / "mosquitto.log", "ab") as log:
            return subprocess.Popen(
                [self.binary, "-c", str(self.directory / "mosquitto.conf")],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def start(self) -> None:
        self.proc = self._spawn()  # quick: a fork and exec
        for _ in range(200):
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            if self.proc.poll() is not None:
                log_text = (self.directory / "mosquitto.log").read_text()
                raise RuntimeError(f"mosquitto exited: {log_text}")
            await asyncio.sleep(0.02)
        raise RuntimeError("mosquitto did not listen")

    def kill(self) -> None:
        """SIGKILL: the broker vanishes mid-session, as on a power cut of the NAS."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
