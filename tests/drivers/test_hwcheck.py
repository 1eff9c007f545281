"""`ncpa hw-check` against the emulated charger: all good, then with faults."""

from __future__ import annotations

import asyncio
import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest
from gpiozero import Device

from hal.drivers.pn532_reader import Pn532Reader
from ncpa.hwcheck import main, run_hw_check
from tests.drivers.rig import Rig, emulated_rig, make_config


def _rows(text: str) -> list[str]:
    """The table rows as "name  result" (the detail column cut off)."""
    lines = text[text.index("\nstep ") :].splitlines()[3:]
    out = []
    for line in lines:
        if not line.strip():
            break
        name, _, rest = line.partition("  ")
        out.append(f"{name}  {rest.split()[0]}")
    return out


class Console(io.StringIO):
    """The installer at the terminal: presents a card when the check asks for one."""

    def __init__(self, rig: Rig, card: bytes | None) -> None:
        super().__init__()
        self.rig = rig
        self.card = card

    def write(self, s: str) -> int:
        if "Present a card" in s and self.card is not None:
            self.rig.rfid.card = self.card
        return super().write(s)


async def test_all_steps_pass() -> None:
    async with emulated_rig() as rig:
        out = Console(rig, bytes.fromhex("04A1B2C3D4E5F6"))
        code = await run_hw_check(rig.config, out, card_timeout=3.0, pin_factory=rig.factory)
        text = out.getvalue()
        assert code == 0, text
        assert "230/230/231 V" in text
        assert "firmware 8.2.1, pilot A, state sleeping" in text
        assert "closes and opens, feedback follows" in text
        assert "locks and unlocks" in text
        assert "tariff=off" in text
        assert "card 04A1B2C3D4E5F6" in text
        assert "all checks passed" in text


async def test_failures_come_with_fixes() -> None:
    async with emulated_rig() as rig:
        rig.meter.mode = "silent"
        rig.coil.stuck = True  # the coil does not move the contacts
        rig.lock_motor.stuck = True
        out = Console(rig, card=None)
        code = await run_hw_check(rig.config, out, card_timeout=0.5, pin_factory=rig.factory)
        text = out.getvalue()
        assert code == 1, text
        rows = {r.split("  ")[0].strip(): r.split()[-1] for r in _rows(text)}
        assert rows["connector 1: meter"] == "FAIL"
        assert rows["connector 1: contactor"] == "FAIL"
        assert rows["connector 1: lock"] == "FAIL"
        assert rows["RFID reader"] == "FAIL"
        assert rows["connector 1: charge controller"] == "PASS"
        assert "RS-485 wiring" in text and "coil driver" in text and "H-bridge" in text
        assert "Hold the card flat" in text
        assert "hw-check: FAILED" in text


async def test_silent_controller_and_dead_reader() -> None:
    async with emulated_rig(contactor="rapi") as rig:
        rig.evcc.silent = True
        rig.rfid.silent = True
        out = Console(rig, card=None)
        code = await run_hw_check(rig.config, out, card_timeout=2.0, pin_factory=rig.factory)
        text = out.getvalue()
        assert code == 1
        rows = {r.split("  ")[0].strip(): r.split()[-1] for r in _rows(text)}
        assert rows["connector 1: charge controller"] == "FAIL" and "Pi TXD" in text
        assert "reader does not answer" in text


async def test_config_error_is_exit_2() -> None:
    async with emulated_rig() as rig:
        hw = copy.deepcopy(rig.hardware)
        hw["connectors"][0]["lock"]["lock_pin"] = 99
        out = io.StringIO()
        assert await run_hw_check(make_config(hw), out, 1.0, pin_factory=rig.factory) == 2
        assert "configuration error: hardware.connectors[1].lock.lock_pin" in out.getvalue()


assert Pn532Reader  # the reader the rig's config selects


async def test_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with emulated_rig() as rig:
        monkeypatch.setattr(Device, "pin_factory", rig.factory)  # gpio_pin_factory = ""
        path = tmp_path / "ncpa.toml"
        path.write_text(_toml({"hardware": rig.hardware}))
        argv = ["--config", str(path), "--card-timeout", "0.5"]
        # the check runs its own event loop (as from the shell); the emulators run in ours
        code = await asyncio.to_thread(main, argv)
        out = capsys.readouterr().out
        assert code == 1, out  # no card was presented
        assert "connector 1: meter ...\n    PASS" in out and "no card read" in out
        assert await asyncio.to_thread(main, ["--config", str(tmp_path / "nope.toml")]) == 2


def _toml(data: dict[str, Any], prefix: str = "") -> str:
    """Just enough of a TOML writer for the rig's config (tables, arrays of tables)."""
    lines: list[str] = []
    tables: list[str] = []
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            tables.append(f"\n[{name}]\n" + _toml(value, name))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                tables.append(f"\n[[{name}]]\n" + _toml(item, name))
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n" + "".join(tables)
