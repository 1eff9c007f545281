"""A full charging session on the real drivers: the daemon runs with a [hardware]
section that points at the emulated meter (Modbus TCP server), OpenEVSE (RAPI on a
pty), PN532 (HSU on a pty) and gpiozero mock pins wired like the real parts."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from gpiozero import Device

from hal.evcc import PilotState
from ncpa.charging.station import ChargingStation
from ncpa.config import ApiConfig, ChargingConfig, ConfigError
from ncpa.daemon import Daemon
from ncpa.store import WhitelistEntry
from tests.drivers.rig import Rig, emulated_rig, make_config
from tests.drivers.waiting import until

CARD = "04A1B2C3D4E5F6"


@contextlib.asynccontextmanager
async def running_daemon(
    rig: Rig, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[ChargingStation]:
    """The daemon on the rig (with a whitelisted card), stopped cleanly at the end."""
    # hardware.gpio_pin_factory is "" (gpiozero's default): the rig's mock pins
    monkeypatch.setattr(Device, "pin_factory", rig.factory)
    cfg = dataclasses.replace(
        rig.config,
        data_dir=data_dir,
        charging=ChargingConfig(meter_interval=0.2, durable_meter_interval=0.2),
        # a free loopback port: never the default 8443 another agent may hold
        api=ApiConfig(host="127.0.0.1", port=_free_port()),
    )
    daemon = Daemon(cfg)
    task = asyncio.create_task(daemon.run())
    try:
        await until(lambda: daemon.station is not None and daemon.station.views()[0].pilot == "A")
        station = daemon.station
        assert isinstance(station, ChargingStation)
        await station.authorizer.add_card(WhitelistEntry(CARD, "ACCEPTED"))
        yield station
    finally:
        daemon.request_stop()
        assert await asyncio.wait_for(task, 10) == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("contactor", ["gpio", "rapi"])
async def test_card_plug_charge_unplug(
    contactor: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with (
        emulated_rig(contactor=contactor) as rig,
        running_daemon(rig, tmp_path, monkeypatch) as station,
    ):
        assert not rig.evcc.enabled  # nothing offered without a session

        rig.evcc.set_pilot("B")  # the EV is plugged in
        await until(lambda: station.view(1).pilot == PilotState.B)
        rig.rfid.card = bytes.fromhex(CARD)  # the driver taps the card
        await until(lambda: station.view(1).transaction is not None)
        rig.rfid.card = None
        await until(lambda: rig.evcc.enabled and rig.evcc.amps >= 6)  # PWM on
        assert station.view(1).locked
        assert rig.factory.pin(6).state  # the lock switch says locked

        rig.evcc.set_pilot("C")  # the EV asks for energy
        await until(lambda: station.view(1).status == "Charging")
        assert station.view(1).contactor_closed
        if contactor == "gpio":
            assert rig.factory.pin(17).state  # the Pi drives the coil
        assert rig.factory.pin(27).state  # the aux contact says closed

        rig.meter.values["energy_import"] += 500.0  # 0.5 kWh flows
        await until(lambda: _energy(station) >= 12845.0)

        rig.evcc.set_pilot("B")  # full
        await until(lambda: not station.view(1).contactor_closed)
        rig.evcc.set_pilot("A")  # unplugged
        await until(lambda: station.view(1).transaction is None)
        await until(lambda: not rig.factory.pin(6).state)  # unlocked
        # the controller's disable goes out after the unlock: wait for it as for the rest
        await until(lambda: not rig.evcc.enabled)
        assert not station.view(1).faults
        (tx,) = await station.store.transactions()
        assert tx.id_tag == CARD and tx.stop_reason == "EVDisconnected"
        assert tx.meter_stop_wh is not None
        assert tx.meter_stop_wh - tx.meter_start_wh == pytest.approx(500.0)


async def test_welded_contactor_trips_the_shunt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with (
        emulated_rig(contactor="gpio") as rig,
        running_daemon(rig, tmp_path, monkeypatch) as station,
    ):
        rig.evcc.set_pilot("B")
        await until(lambda: station.view(1).pilot == PilotState.B)
        await station.present_card(CARD)
        rig.evcc.set_pilot("C")
        await until(lambda: station.view(1).status == "Charging")
        rig.coil.stuck = True  # the contacts weld
        rig.evcc.set_pilot("B")
        await until(lambda: "welded_contactor" in station.view(1).faults)
        await until(lambda: rig.factory.pin(19).state)  # the breaker's aux: tripped


def _energy(station: ChargingStation) -> float:
    r = station.view(1).last_reading
    return r.energy_wh if r else 0.0


async def test_a_wrong_device_stops_the_daemon_at_start_with_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with emulated_rig() as rig:
        monkeypatch.setattr(Device, "pin_factory", rig.factory)
        hw = copy.deepcopy(rig.hardware)
        hw["connectors"][0]["evcc"]["port"] = "/dev/ttyNOPE9"
        cfg = dataclasses.replace(make_config(hw), data_dir=tmp_path)
        with pytest.raises(ConfigError, match=r"hardware\.connectors\[1\]\.evcc\.port: .*ttyNOPE9"):
            await Daemon(cfg).run()
