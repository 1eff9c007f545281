"""First run on a charger: the example config install.sh puts in /etc/ncpa is complete
(every component accepts it, each hardware value says the choice beside it), and a
start that cannot go on (here: the RS-485 adapter is not plugged in) is one line in the
journal and exit 2, which the unit does not restart (RestartPreventExitStatus=2)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from hal.drivers.build import build_board
from hal.drivers.settings import parse_hardware
from ncpa import config
from ncpa.api.settings import from_config
from ncpa.clock import parse_settings
from ncpa.config import ConfigError
from ncpa.hotspot_service import parse_hotspot_settings
from tests.deploy.unit import REPO, commands, values
from tests.drivers.rig import example_hardware, make_config

EXAMPLE = REPO / "docs" / "ncpa.example.toml"


def test_every_component_accepts_the_example() -> None:
    cfg = config.load(EXAMPLE)
    hw = parse_hardware(cfg)
    assert len(hw.connectors) == cfg.station.connectors == 1
    assert from_config(cfg).keys_path == Path("/etc/ncpa/keys")
    parse_settings(cfg)
    parse_hotspot_settings(cfg)
    assert "hardware" in tomllib.loads(EXAMPLE.read_text())


def test_each_hardware_value_says_the_choice_beside_it() -> None:
    section = ""
    bare = []
    for line in EXAMPLE.read_text().splitlines():
        if line.startswith("["):
            section = line.split("]")[0].strip("[")
        elif section.startswith("hardware") and re.match(r"^\w+\s*=", line) and "#" not in line:
            bare.append(f"[{section}] {line}")
    assert bare == []


def test_a_missing_device_is_one_line_and_exit_2(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace('"/var/lib/ncpa"', f'"{tmp_path / "data"}"')
    text = text.replace('"/etc/ncpa/keys"', f'"{tmp_path / "keys"}"')
    if Path("/dev/ttyUSB0").exists():  # a machine with an adapter: point at none
        text = text.replace('"/dev/ttyUSB0"', f'"{tmp_path / "ttyUSB-none"}"')
    cfg = tmp_path / "ncpa.toml"
    cfg.write_text(text)
    (exec_start,) = commands("ExecStart", cfg)
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET",)}
    r = subprocess.run(exec_start, cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=60)  # fmt: skip
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("ncpa: hardware.connectors[1].meter.port: ")
    assert "does not exist" in lines[0]
    assert values("RestartPreventExitStatus") == ["2"]


async def test_a_pin_factory_that_cannot_load_is_one_config_error() -> None:
    if importlib.util.find_spec("lgpio") is not None:
        pytest.skip("lgpio is installed here: it loads")
    hw = example_hardware()
    hw["gpio_pin_factory"] = "lgpio"
    with pytest.raises(ConfigError, match=r"hardware.gpio_pin_factory: 'lgpio' cannot be used"):
        await build_board(make_config(hw))
