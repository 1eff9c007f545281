"""A whole charger emulated at the protocol level: a Modbus meter server, an OpenEVSE
on a pty, a PN532 on a pty, and gpiozero mock pins wired like the real parts (coil
moves the aux contact, lock motor moves the lock switch, shunt trips the breaker aux).
`rig.config` is the reference config (docs/hardware-example.toml) pointed at them."""

from __future__ import annotations

import contextlib
import copy
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gpiozero.pins.mock import MockFactory

from hal.drivers.register_map import load_map
from ncpa.config import Config, StationConfig
from tests.drivers.mock_gpio import DrivingPin, wire
from tests.drivers.modbus_peer import MeterPeer
from tests.drivers.rapi_device import RapiDevice
from tests.drivers.rfid_devices import Pn532Device

EXAMPLE = Path(__file__).parents[2] / "docs" / "hardware-example.toml"


def example_hardware() -> dict[str, Any]:
    data = tomllib.loads(EXAMPLE.read_text())
    return dict(data["hardware"])


def make_config(hardware: dict[str, Any], **station: Any) -> Config:
    st = replace(StationConfig(), **station)
    # no wait for time sync on a test bench (ncpa/clock.py; tests/deploy tests the wait)
    return Config(station=st, raw={"hardware": hardware, "clock": {"wait_for_sync": 0}})


@dataclass
class Rig:
    meter: MeterPeer
    evcc: RapiDevice
    rfid: Pn532Device
    factory: MockFactory
    coil: DrivingPin
    lock_motor: DrivingPin
    unlock_motor: DrivingPin
    hardware: dict[str, Any]

    @property
    def config(self) -> Config:
        return make_config(copy.deepcopy(self.hardware))


@contextlib.asynccontextmanager
async def emulated_rig(contactor: str = "gpio") -> AsyncIterator[Rig]:
    meter = MeterPeer(load_map("sdm630"))
    await meter.start()
    evcc, rfid = RapiDevice(), Pn532Device()
    await evcc.start()
    await rfid.start()
    factory = MockFactory()
    hw = example_hardware()
    conn = hw["connectors"][0]
    conn["meter"] = {
        "backend": "modbus-tcp", "model": "sdm630", "host": "127.0.0.1",
        "tcp_port": meter.port, "device_id": 1, "timeout": 0.3, "retries": 0,
    }  # fmt: skip
    conn["evcc"].update(port=evcc.path, poll_interval=0.1, link_timeout=1.0)
    if contactor == "gpio":
        conn["contactor"] = {"backend": "gpio", "coil_pin": 17, "feedback_pin": 27}
    conn["lock"].update(feedback_pull="off", timeout=0.5)
    hw["rfid"].update(port=rfid.path, release=0.5)
    coil = wire(factory, 17, 27, level=True, follow=True)
    lock_motor = wire(factory, 5, 6, level=True, follow=False)
    unlock_motor = wire(factory, 13, 6, level=False, follow=False)
    wire(factory, 26, 19, level=True, follow=False)
    if contactor == "rapi":
        aux = factory.pin(27)
        evcc.on_relay = lambda closed: aux.drive_high() if closed else aux.drive_low()
    rig = Rig(meter, evcc, rfid, factory, coil, lock_motor, unlock_motor, hw)
    try:
        yield rig
    finally:
        await rfid.stop()
        await evcc.stop()
        await meter.stop()
        factory.reset()
