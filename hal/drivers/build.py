"""Turn the `[hardware]` section into a hal.board.Board of real drivers.

Settings errors, serial ports that cannot be opened and GPIO pins that cannot be
claimed all end here as one ncpa.config.ConfigError naming the setting; whatever was
opened before the error is closed again. A device that is wired but does not answer
is not an error at start: it shows as a fault at run time (and in `ncpa hw-check`).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from hal.board import Board, ConnectorDevices
from hal.contactor import Contactor
from hal.drivers.settings import (
    HardwareSettings,
    HotspotSettings,
    MeterSettings,
    RfidSettings,
    parse_hardware,
    parse_table,
)
from hal.errors import DeviceError
from hal.hotspot import Hotspot
from hal.inputs import DigitalInput
from ncpa.config import Config, ConfigError

# The driver modules (and their libraries: gpiozero, pymodbus, pyserial) are imported
# where a configured device needs them, so a board loads only what it has.
if TYPE_CHECKING:
    from hal.drivers.card_reader import SerialCardReader
    from hal.drivers.gpio_pins import Input, Output
    from hal.drivers.modbus_meter import ModbusLink

Closer = Callable[[], Awaitable[None]]


class _Builder:
    def __init__(self, config: Config, hw: HardwareSettings, factory: Any) -> None:
        self.config = config
        self.hw = hw
        self.factory = factory
        self.closers: list[Closer] = []
        self.links: dict[tuple[Any, ...], ModbusLink] = {}

    def output(self, pin: int | None, active_high: bool, setting: str) -> Output:
        from hal.drivers.gpio_pins import Output

        assert pin is not None  # settings checked it
        try:
            out = Output(pin, active_high, self.factory)
        except Exception as e:  # gpiozero raises many kinds: bad pin, pin in use, no GPIO
            raise ConfigError(f"{setting}: cannot use GPIO {pin}: {e}") from e
        self.closers.append(_sync_closer(out.close))
        return out

    def input(self, pin: int | None, active_high: bool, pull: str, setting: str) -> Input:
        from hal.drivers.gpio_pins import Input

        assert pin is not None
        try:
            inp = Input(pin, active_high, pull, self.factory)
        except Exception as e:
            raise ConfigError(f"{setting}: cannot use GPIO {pin}: {e}") from e
        self.closers.append(_sync_closer(inp.close))
        return inp

    def link(self, m: MeterSettings) -> ModbusLink:
        from hal.drivers.modbus_meter import ModbusLink

        if m.backend == "modbus-tcp":
            key: tuple[Any, ...] = ("tcp", m.host, m.tcp_port)
        else:
            key = ("rtu", m.port)
        if key not in self.links:
            link = ModbusLink(
                port=m.port if m.backend == "modbus-rtu" else "",
                baudrate=m.baudrate,
                parity=m.parity,
                stopbits=m.stopbits,
                host=m.host if m.backend == "modbus-tcp" else "",
                tcp_port=m.tcp_port,
                timeout=m.timeout,
                retries=m.retries,
            )
            self.links[key] = link
            self.closers.append(link.close)
        return self.links[key]

    async def connector(self, n: int) -> ConnectorDevices:
        from hal.drivers.gpio_contactor import GpioContactor
        from hal.drivers.gpio_input import GpioDigitalInput
        from hal.drivers.gpio_lock import GpioSocketLock
        from hal.drivers.modbus_meter import ModbusMeter
        from hal.drivers.rapi_evcc import RapiController, RapiRelay
        from hal.drivers.register_map import load_map

        c = self.hw.connectors[n - 1]
        w = f"hardware.connectors[{n}]"
        m = c.meter
        if m.backend == "modbus-rtu":
            _check_port(m.port, f"{w}.meter.port")
        meter = ModbusMeter(self.link(m), load_map(m.model), m.device_id)
        e = c.evcc
        evcc = RapiController(
            e.port, e.baudrate, e.poll_interval, e.link_timeout, e.command_timeout,
            e.heartbeat_interval, e.heartbeat_current,
        )  # fmt: skip
        await _start(evcc.start, f"{w}.evcc.port")
        self.closers.append(evcc.close)
        k = c.contactor
        contactor: Contactor
        if k.backend == "gpio":
            contactor = GpioContactor(
                self.output(k.coil_pin, k.coil_active_high, f"{w}.contactor.coil_pin"),
                self.input(
                    k.feedback_pin, k.feedback_active_high, k.feedback_pull,
                    f"{w}.contactor.feedback_pin",
                ),
            )  # fmt: skip
        else:
            aux = None
            if k.feedback_pin is not None:
                pin = self.input(
                    k.feedback_pin, k.feedback_active_high, k.feedback_pull,
                    f"{w}.contactor.feedback_pin",
                )  # fmt: skip
                aux = GpioDigitalInput(pin, f"connector {n} contactor aux")
            contactor = RapiRelay(evcc, aux)
        lock = None
        if c.lock is not None:
            lk = c.lock
            lock = GpioSocketLock(
                self.output(lk.lock_pin, lk.motor_active_high, f"{w}.lock.lock_pin"),
                self.output(lk.unlock_pin, lk.motor_active_high, f"{w}.lock.unlock_pin"),
                self.input(
                    lk.feedback_pin, lk.feedback_active_high, lk.feedback_pull,
                    f"{w}.lock.feedback_pin",
                ),
                timeout=lk.timeout or _lock_timeout(self.config),
            )  # fmt: skip
        switch = None
        if c.phase_switch is not None:
            ps = c.phase_switch
            feedback = None
            if ps.feedback_pin is not None:
                feedback = self.input(
                    ps.feedback_pin, ps.feedback_active_high, ps.feedback_pull,
                    f"{w}.phase_switch.feedback_pin",
                )  # fmt: skip
            from hal.drivers.gpio_phase_switch import GpioPhaseSwitch

            switch = GpioPhaseSwitch(
                self.output(ps.coil_pin, ps.coil_active_high, f"{w}.phase_switch.coil_pin"),
                feedback,
                ps.settle,
            )
        return ConnectorDevices(n, evcc, meter, contactor, lock, switch)

    async def rfid(self, r: RfidSettings) -> SerialCardReader:
        from hal.drivers.pn532_reader import Pn532Reader
        from hal.drivers.rdm6300_reader import Rdm6300Reader

        reader: SerialCardReader
        if r.backend == "pn532":
            reader = Pn532Reader(r.port, r.baudrate or 115200, r.release, r.poll_interval)
        else:
            reader = Rdm6300Reader(r.port, r.baudrate or 9600, r.release)
        await _start(reader.start, "hardware.rfid.port")
        self.closers.append(reader.close)
        return reader

    async def board(self) -> Board:
        from hal.drivers.gpio_input import GpioDigitalInput
        from hal.drivers.gpio_shunt import GpioShuntTrip

        connectors = [await self.connector(n) for n in range(1, len(self.hw.connectors) + 1)]
        s = self.hw.shunt
        coil = self.output(s.pin, s.active_high, "hardware.shunt.pin")
        confirm = None
        if s.feedback_pin is not None:
            confirm = self.input(
                s.feedback_pin, s.feedback_active_high, s.feedback_pull,
                "hardware.shunt.feedback_pin",
            )  # fmt: skip
        shunt = GpioShuntTrip(coil, confirm, pulse=s.pulse)
        inputs: dict[str, DigitalInput] = {}
        for name, i in self.hw.inputs.items():
            pin = self.input(i.pin, i.active_high, i.pull, f"hardware.inputs.{name}.pin")
            gi = GpioDigitalInput(pin, name)
            await gi.start()
            inputs[name] = gi
        rfid = await self.rfid(self.hw.rfid) if self.hw.rfid else None
        return Board(connectors, shunt, rfid, inputs, closers=list(self.closers))


def _lock_timeout(config: Config) -> float:
    """A little under the core's own deadline for a lock move (charging.lock_timeout), so
    that the driver gives up, with the motor off, before the core cancels it."""
    return max(0.1, config.charging.lock_timeout - 0.2)


def _sync_closer(close: Callable[[], None]) -> Closer:
    async def closer() -> None:
        close()

    return closer


def _check_port(port: str, setting: str) -> None:
    if not os.path.exists(port):
        raise ConfigError(f"{setting}: {port} does not exist (adapter plugged in? UART enabled?)")


async def _start(start: Callable[[], Awaitable[None]], setting: str) -> None:
    try:
        await start()
    except DeviceError as e:
        raise ConfigError(f"{setting}: {e}") from e


async def build_board(config: Config, *, pin_factory: Any = None) -> Board:
    """The Board for `config`'s `[hardware]` section. `pin_factory` overrides
    hardware.gpio_pin_factory (the tests pass a gpiozero MockFactory)."""
    hw = parse_hardware(config)
    factory = pin_factory if pin_factory is not None else _pin_factory(hw.gpio_pin_factory)
    builder = _Builder(config, hw, factory)
    try:
        return await builder.board()
    except BaseException:
        for close in reversed(builder.closers):
            await close()
        raise


def _pin_factory(name: str) -> Any:
    from hal.drivers.gpio_pins import make_pin_factory

    try:
        return make_pin_factory(name)
    except Exception as e:  # ImportError, gpiozero's BadPinFactory, a missing /dev/gpiochip
        hint = " (lgpio comes with the wheelhouse: reinstall with systemd/install.sh)"
        raise ConfigError(
            f"hardware.gpio_pin_factory: {name!r} cannot be used here: {e}"
            + (hint if name == "lgpio" else "")
        ) from e


def build_hotspot(config: Config) -> Hotspot | None:
    """The hotspot backend of `[hardware.hotspot]` (None: backend "none")."""
    raw = config.raw.get("hardware", {})
    hs = parse_table(HotspotSettings, raw.get("hotspot", {}) if isinstance(raw, dict) else {},
                     "hardware.hotspot")  # fmt: skip
    if hs.backend == "none":
        return None
    from hal.drivers.nmcli_hotspot import NmcliHotspot

    return NmcliHotspot(hs.interface, hs.con_name)
