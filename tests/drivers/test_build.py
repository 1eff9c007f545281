"""[hardware] settings and build_board: one clear error per wrong setting, and a Board
of real drivers on emulated devices."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from hal.board import Board
from hal.contactor import Contactor
from hal.drivers.build import build_board, build_hotspot
from hal.drivers.nmcli_hotspot import NmcliHotspot
from hal.drivers.settings import parse_hardware
from hal.evcc import ChargeController
from hal.inputs import DigitalInput
from hal.lock import SocketLock
from hal.meter import EnergyMeter
from hal.rfid import RfidReader
from hal.shunt import ShuntTrip
from ncpa.config import Config, ConfigError
from tests.drivers.rig import emulated_rig, example_hardware, make_config


def test_reference_config_parses() -> None:
    hw = parse_hardware(make_config(example_hardware()))
    assert hw.connectors[0].meter.model == "sdm630"
    assert hw.connectors[0].lock is not None and hw.connectors[0].lock.feedback_pin == 6
    assert set(hw.inputs) == {"tariff", "rcd_fault"}
    assert hw.rfid is not None and hw.rfid.backend == "pn532"


def _set(hw: dict[str, Any], path: str, value: Any) -> None:
    keys = path.split(".")
    node: Any = hw
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node[k]
    if value is None:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("connectors.0.meter.backend", "modbus-udp", r"connectors\[1\]\.meter\.backend: one of"),
        ("connectors.0.meter.model", "sdm999", r"meter\.model: sdm999: no such meter map"),
        ("connectors.0.meter.port", None, r"meter\.port: missing"),
        ("connectors.0.meter.baudrate", "9600", r"meter\.baudrate: expected int"),
        ("connectors.0.meter.device_id", 300, r"meter\.device_id: must be 1\.\.247"),
        ("connectors.0.meter.colour", "red", r"meter\.colour: unknown setting"),
        ("connectors.0.evcc", None, r"connectors\[1\]\.evcc: missing"),
        ("connectors.0.lock.feedback_pin", 27, r"feedback_pin: GPIO 27 is already .*contactor"),
        ("connectors.0.lock.lock_pin", 40, r"lock\.lock_pin: must be a BCM GPIO number 0\.\.27"),
        ("connectors.0.lock", None, r"lock: missing, and station\.has_lock is true"),
        ("rfid.port", "/dev/ttyAMA0", r"rfid\.port: /dev/ttyAMA0 is already used by .*evcc\.port"),
        ("rfid.backend", "mifare", r"hardware\.rfid\.backend: one of pn532, rdm6300, none"),
        ("shunt", None, r"hardware\.shunt: missing"),
        ("inputs.tariff.pull", "sideways", r"inputs\.tariff\.pull: one of off, up, down"),
        ("gpio_pin_factory", "magic", r"hardware\.gpio_pin_factory: one of"),
        ("connectors.0.contactor.coil_pin", 17, r"contactor\.coil_pin: not used with backend rapi"),
    ],
)  # fmt: skip
def test_each_wrong_setting_is_named(path: str, value: Any, message: str) -> None:
    hw = copy.deepcopy(example_hardware())
    _set(hw, path, value)
    with pytest.raises(ConfigError, match=message):
        parse_hardware(make_config(hw))


def test_phase_switch_settings() -> None:
    hw = copy.deepcopy(example_hardware())
    hw["connectors"][0]["phase_switch"] = {"coil_pin": 16, "feedback_pin": 12, "settle": 0.2}
    switch = parse_hardware(make_config(hw)).connectors[0].phase_switch
    assert switch is not None and switch.coil_pin == 16 and switch.settle == 0.2
    assert parse_hardware(make_config(example_hardware())).connectors[0].phase_switch is None
    for bad, message in (
        ({"coil_pin": 27}, r"phase_switch\.coil_pin: GPIO 27 is already"),
        ({}, r"phase_switch\.coil_pin"),
        ({"coil_pin": 16, "settle": 9.0}, r"phase_switch\.settle"),
        ({"coil_pin": 16, "colour": 1}, r"phase_switch\.colour: unknown setting"),
    ):
        hw["connectors"][0]["phase_switch"] = bad
        with pytest.raises(ConfigError, match=message):
            parse_hardware(make_config(hw))


def test_missing_section_and_connector_count() -> None:
    with pytest.raises(ConfigError, match=r"\[hardware\]: missing"):
        parse_hardware(Config())
    with pytest.raises(ConfigError, match=r"2 given, station\.connectors is 1"):
        hw = example_hardware()
        hw["connectors"] = hw["connectors"] * 2
        parse_hardware(make_config(hw))


async def test_missing_serial_port_names_the_setting() -> None:
    hw = example_hardware()
    hw["connectors"][0]["meter"]["port"] = "/dev/ttyNOPE0"
    with pytest.raises(
        ConfigError, match=r"connectors\[1\]\.meter\.port: /dev/ttyNOPE0 does not exist"
    ):
        await build_board(make_config(hw), pin_factory=MockFactory())


async def test_build_board_on_emulated_devices() -> None:
    async with emulated_rig(contactor="rapi") as rig:
        board = await build_board(rig.config, pin_factory=rig.factory)
        try:
            assert isinstance(board, Board)
            c = board.connector(1)
            assert isinstance(c.meter, EnergyMeter) and isinstance(c.evcc, ChargeController)
            assert isinstance(c.contactor, Contactor) and isinstance(c.lock, SocketLock)
            assert isinstance(board.shunt, ShuntTrip) and isinstance(board.rfid, RfidReader)
            assert all(isinstance(i, DigitalInput) for i in board.inputs.values())
            assert (await c.meter.read()).voltage_v[0] > 200
            assert await c.evcc.firmware_version() == "8.2.1"
            assert not await c.contactor.feedback_closed()
            assert await c.lock.set_locked(True)
            assert await board.shunt.trip()
            assert await board.inputs["tariff"].read() is False
        finally:
            await board.close()


async def test_build_failure_releases_what_was_opened() -> None:
    async with emulated_rig() as rig:
        hw = copy.deepcopy(rig.hardware)
        hw["rfid"]["port"] = "/dev/ttyNOPE1"  # fails last, after the evcc port was opened
        with pytest.raises(ConfigError, match=r"hardware\.rfid\.port: cannot open"):
            await build_board(make_config(hw), pin_factory=rig.factory)
        board = await build_board(rig.config, pin_factory=rig.factory)  # pins were released
        await board.close()


def test_hotspot_backend() -> None:
    assert isinstance(build_hotspot(make_config(example_hardware())), NmcliHotspot)
    assert build_hotspot(make_config({"hotspot": {"backend": "none"}})) is None
    with pytest.raises(ConfigError, match=r"hardware\.hotspot\.backend"):
        build_hotspot(make_config({"hotspot": {"backend": "hostapd"}}))
