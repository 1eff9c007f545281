"""The systemd unit as the tests read it: its exact commands, with the device paths
swapped for the test's (the interpreter of this venv, a config in a temp folder)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "ncpa.service"
DEVICE_PYTHON = "/opt/ncpa/venv/bin/python"
DEVICE_CONFIG = "/etc/ncpa/ncpa.toml"


def directives(unit: Path = UNIT) -> list[tuple[str, str, str]]:
    """(section, key, value) in file order; systemd allows a key many times."""
    out: list[tuple[str, str, str]] = []
    section = ""
    for raw in unit.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.append((section, key.strip(), value.strip()))
    return out


def values(key: str, section: str = "Service") -> list[str]:
    return [v for s, k, v in directives() if s == section and k == key]


def commands(key: str, config: Path) -> list[list[str]]:
    """Every `key` command line (ExecStartPre, ExecStart), ready for subprocess."""
    out = []
    for value in values(key):
        argv = shlex.split(value.lstrip("-+@!"))
        swap = {DEVICE_PYTHON: sys.executable, DEVICE_CONFIG: str(config)}
        out.append([swap.get(a, a) for a in argv])
    return out
