"""`ncpa hw-check` against the emulated charger: all good, then with faults."""

from __future__ import annotations

import copy
import io

from hal.drivers.pn532_reader import Pn532Reader
from ncpa.hwcheck import run_hw_check
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
        assert "firmware 8.2.1, pilot A" in text
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
