"""`ncpa hw-check`: the installer's bring-up check of the real hardware, step by step.

It builds the Board from the `[hardware]` section exactly as the agent does, then reads
the meter, reads the controller's state and version, toggles the contactor (only with
no EV plugged in) and checks its feedback, cycles the lock, reads the inputs, and waits
for a card. It ends with a pass/fail table and, for each failure, what to fix. The
shunt trip is not fired: it would trip the installation's breaker.
Exit code: 0 all passed, 1 something failed, 2 the configuration is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from hal.board import Board, ConnectorDevices
from hal.errors import DeviceError, DeviceTimeout
from hal.evcc import EvccStatus, PilotState
from ncpa.config import Config, ConfigError, load
from ncpa.log import configure as configure_logs

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"


@dataclass
class StepResult:
    name: str
    result: str  # PASS | FAIL | SKIP
    detail: str
    fix: str = ""


class StepFailed(Exception):
    def __init__(self, detail: str, fix: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fix = fix


class StepSkipped(Exception):
    pass


async def _wait_for(cond: Callable[[], Awaitable[bool]], limit: float) -> bool:
    deadline = time.monotonic() + limit
    while True:
        if await cond():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.05)


class HwCheck:
    def __init__(self, config: Config, out: TextIO, card_timeout: float) -> None:
        self.config = config
        self.out = out
        self.card_timeout = card_timeout
        self.results: list[StepResult] = []
        self.status: dict[int, EvccStatus] = {}

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    async def step(self, name: str, run: Callable[[], Awaitable[str]], limit: float = 15.0) -> None:
        n = len(self.results) + 1
        self.say(f"[{n}] {name} ...")
        try:
            async with asyncio.timeout(limit):
                detail = await run()
            res = StepResult(name, PASS, detail)
        except StepSkipped as e:
            res = StepResult(name, SKIP, str(e))
        except StepFailed as e:
            res = StepResult(name, FAIL, e.detail, e.fix)
        except TimeoutError:
            res = StepResult(name, FAIL, f"no result in {limit:.0f} s", "see the step's wiring")
        except (DeviceError, OSError) as e:
            res = StepResult(name, FAIL, str(e), "check the device's wiring and settings")
        self.results.append(res)
        self.say(f"    {res.result}: {res.detail}")

    # -- the steps ------------------------------------------------------------------
    async def meter(self, c: ConnectorDevices) -> str:
        setting = f"hardware.connectors[{c.connector_id}].meter"
        try:
            r = await c.meter.read()
        except DeviceTimeout as e:
            raise StepFailed(
                str(e),
                f"No answer from the meter. Check the RS-485 wiring (A to A, B to B, common "
                f"ground, 120 ohm termination at both ends of the bus), and that the meter's "
                f"address, baud rate and parity (its setup menu) match {setting}.device_id, "
                f".baudrate and .parity; for Modbus TCP, {setting}.host and .tcp_port.",
            ) from e
        except DeviceError as e:
            fix = (
                f"The meter answers but refuses the registers: {setting}.model is probably "
                f"not this meter (built-in: sdm630, sdm120, abb_b23; or a map file)."
                if "exception" in str(e)
                else f"Garbled or implausible answers: check the baud rate / parity against "
                f"the meter's menu, the bus termination, and {setting}.model (register map)."
            )
            raise StepFailed(str(e), fix) from e
        v = "/".join(f"{x:.0f}" for x in r.voltage_v)
        a = "/".join(f"{x:.1f}" for x in r.current_a)
        return f"{v} V, {a} A, {r.total_power_w:.0f} W, {r.energy_wh / 1000:.3f} kWh"

    async def controller(self, c: ConnectorDevices) -> str:
        setting = f"hardware.connectors[{c.connector_id}].evcc"
        link_fix = (
            f"No answer from the charge controller on {setting}.port. Check TX/RX (Pi TXD "
            f"GPIO14 to the controller's RX, RXD GPIO15 to its TX), a common ground, the baud "
            f"rate ({setting}.baudrate, OpenEVSE: 115200), that the Linux serial console is "
            f"off and the UART enabled (docs/hardware.md, 'Freeing the UART')."
        )
        try:
            version = await c.evcc.firmware_version()
        except DeviceError as e:
            raise StepFailed(str(e), link_fix) from e
        status = await anext(aiter(c.evcc.status_updates()))
        self.status[c.connector_id] = status
        if status.faults:
            faults = ", ".join(sorted(status.faults))
            raise StepFailed(
                f"firmware {version}, pilot {status.pilot}, faults: {faults}",
                "The controller reports a fault: 'rcd' = GFI tripped or its self-test failed "
                "(test coil wiring, then press its reset); 'diode' = pilot diode check; "
                "'other' = no ground, stuck relay or over temperature (see its display).",
            )
        state = getattr(c.evcc, "state_name", "")  # RAPI: the controller's own state
        state = f", state {state}" if state else ""
        return f"firmware {version}, pilot {status.pilot}{state} (A: no EV plugged in)"

    async def contactor(self, c: ConnectorDevices) -> str:
        setting = f"hardware.connectors[{c.connector_id}].contactor"
        k = c.contactor
        if await k.feedback_closed():
            raise StepFailed(
                "feedback says closed while the contactor is commanded open",
                f"Welded contacts, or the feedback input is inverted: check the auxiliary "
                f"contact wiring and {setting}.feedback_active_high. Do not charge until fixed.",
            )
        from hal.drivers.rapi_evcc import RapiRelay  # the drivers load only when checking

        if isinstance(k, RapiRelay):
            return "open; its relay is switched by the controller (closes with an EV in state C)"
        status = self.status.get(c.connector_id)
        if status is None or status.pilot != PilotState.A:
            raise StepSkipped("not toggled: unplug the EV (pilot must be A) and run again")
        await k.set_closed(True)
        try:
            closed = await _wait_for(k.feedback_closed, 1.0)
        finally:
            await k.set_closed(False)
        opened = await _wait_for(lambda: _not(k.feedback_closed), 1.0 + self._welded_delay())
        if not closed:
            raise StepFailed(
                "commanded closed, the feedback stayed open",
                f"Check the coil driver on {setting}.coil_pin (relay module, its active level "
                f"{setting}.coil_active_high), the coil supply, and the auxiliary contact on "
                f"{setting}.feedback_pin.",
            )
        if not opened:
            raise StepFailed(
                "commanded open, the feedback stayed closed",
                "Welded contacts (or a stuck armature): replace the contactor before charging.",
            )
        return "closes and opens, feedback follows"

    def _welded_delay(self) -> float:
        return self.config.charging.welded_check_delay

    async def lock(self, c: ConnectorDevices) -> str:
        lock = c.lock
        if lock is None:
            raise StepSkipped("no lock (tethered cable)")
        setting = f"hardware.connectors[{c.connector_id}].lock"
        fix = (
            f"Check the motor supply and the H-bridge inputs ({setting}.lock_pin, "
            f".unlock_pin, .motor_active_high; swap them if it moves the wrong way), and the "
            f"feedback switch ({setting}.feedback_pin, .feedback_active_high)."
        )
        if not await lock.set_locked(True):
            await lock.set_locked(False)
            raise StepFailed("locking was not confirmed by the feedback switch", fix)
        if not await lock.set_locked(False):
            raise StepFailed("unlocking was not confirmed: the lock may be stuck locked", fix)
        return "locks and unlocks, feedback confirms both"

    async def inputs(self, board: Board) -> str:
        if not board.inputs:
            raise StepSkipped("no inputs configured")
        values = [f"{name}={'on' if await i.read() else 'off'}" for name, i in board.inputs.items()]
        return ", ".join(values)

    async def card(self, board: Board) -> str:
        rfid = board.rfid
        if rfid is None:
            raise StepSkipped("no RFID reader configured")
        cards = rfid.cards()
        self.say(f"    Present a card to the reader within {self.card_timeout:.0f} s")
        try:
            async with asyncio.timeout(self.card_timeout):
                uid = await anext(aiter(cards))
        except TimeoutError as e:
            healthy = getattr(rfid, "healthy", None)
            if healthy is False:
                raise StepFailed(
                    "the reader does not answer",
                    "Check the reader's TX/RX and supply, hardware.rfid.port and .baudrate; "
                    "a PN532 board must have its interface switches set to HSU (UART).",
                ) from e
            raise StepFailed(
                f"no card read in {self.card_timeout:.0f} s",
                "Hold the card flat on the reader's antenna; check hardware.rfid.backend "
                "(pn532: 13.56 MHz cards, rdm6300: 125 kHz cards), the port and the wiring.",
            ) from e
        return f"card {uid}"

    # -- the run --------------------------------------------------------------------
    async def run_steps(self, board: Board) -> list[StepResult]:
        """Every step on `board`, in order (the agent's API runs them on its own board)."""
        for c in board.connectors:
            n = c.connector_id
            await self.step(f"connector {n}: meter", partial(self.meter, c))
            await self.step(f"connector {n}: charge controller", partial(self.controller, c))
            await self.step(f"connector {n}: contactor", partial(self.contactor, c))
            await self.step(f"connector {n}: lock", partial(self.lock, c))
        await self.step("inputs", lambda: self.inputs(board))
        await self.step("RFID reader", lambda: self.card(board), self.card_timeout + 5)
        self.results.append(
            StepResult("shunt trip", SKIP, "not fired: it trips the breaker; test it by hand")
        )
        return self.results

    async def run(self, pin_factory: Any = None) -> int:
        self.say(f"NCPA hardware check, station {self.config.station.id}")
        try:
            from hal.drivers.build import build_board

            board = await build_board(self.config, pin_factory=pin_factory)
        except ConfigError as e:
            self.say(f"configuration error: {e}")
            return 2
        try:
            await self.run_steps(board)
        finally:
            await board.close()
        self.table()
        return 1 if any(r.result == FAIL for r in self.results) else 0

    def table(self) -> None:
        width = max(len(r.name) for r in self.results)
        self.say("")
        self.say(f"{'step':<{width}}  result  detail")
        self.say(f"{'-' * width}  ------  ------")
        for r in self.results:
            self.say(f"{r.name:<{width}}  {r.result:<6}  {r.detail}")
        failed = [r for r in self.results if r.result == FAIL]
        if failed:
            self.say("")
            self.say("To fix:")
            for r in failed:
                self.say(f"- {r.name}: {r.fix}")
        self.say("")
        self.say("hw-check: " + ("FAILED" if failed else "all checks passed"))


async def _not(cond: Callable[[], Awaitable[bool]]) -> bool:
    return not await cond()


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of `ncpa hw-check` (cli.py adds the subcommand with these)."""
    p.add_argument("--config", type=Path, required=True, help="the charger's TOML config file")
    p.add_argument(
        "--card-timeout", type=float, default=30.0, help="seconds to wait for a card (30)"
    )
    p.add_argument("--log-level", default="ERROR", help="driver log lines shown (ERROR)")


def command(args: argparse.Namespace) -> int:
    """Run `ncpa hw-check` from parsed flags; returns the exit code."""
    try:
        cfg = load(args.config)
    except ConfigError as e:
        print(f"configuration error: {e}", file=sys.stderr)
        return 2
    configure_logs(cfg.log_format, str(args.log_level).upper())
    return asyncio.run(run_hw_check(cfg, sys.stdout, args.card_timeout))


def main(argv: list[str] | None = None) -> int:
    """`python -m ncpa.hwcheck`, the same as `ncpa hw-check`."""
    parser = argparse.ArgumentParser(prog="ncpa hw-check", description=__doc__)
    add_arguments(parser)
    return command(parser.parse_args(argv))


async def run_hw_check(
    config: Config, out: TextIO, card_timeout: float, *, pin_factory: Any = None
) -> int:
    """Run the whole check, writing progress and the table to `out`; returns the exit code."""
    return await HwCheck(config, out, card_timeout).run(pin_factory)


if __name__ == "__main__":
    sys.exit(main())
