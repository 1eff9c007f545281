"""GPIO drivers with gpiozero's MockFactory (the only mock the contract allows)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from gpiozero.pins.mock import MockFactory

from hal.drivers.gpio_contactor import GpioContactor
from hal.drivers.gpio_input import GpioDigitalInput
from hal.drivers.gpio_lock import GpioSocketLock
from hal.drivers.gpio_pins import Input, Output
from hal.drivers.gpio_shunt import GpioShuntTrip
from tests.drivers.mock_gpio import wire
from tests.drivers.waiting import next_matching


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    f = MockFactory()
    yield f
    f.reset()


async def test_contactor_follows_coil_and_detects_welded(factory: MockFactory) -> None:
    coil_pin = wire(factory, 17, 27, level=True, follow=True)
    c = GpioContactor(Output(17, True, factory), Input(27, True, "off", factory))
    assert not await c.feedback_closed()
    await c.set_closed(True)
    assert factory.pin(17).state and await c.feedback_closed()
    coil_pin.stuck = True  # the contacts weld while closed
    await c.set_closed(False)
    assert not factory.pin(17).state  # coil off ...
    assert await c.feedback_closed()  # ... but the aux contact says closed: welded
    await c.close()


async def test_active_low_coil_and_pull_up_feedback(factory: MockFactory) -> None:
    # relay boards with active-low inputs, aux contact switching to ground
    # (coil pin low = coil on = contact closed = aux pin pulled to ground)
    wire(factory, 22, 23, level=True, follow=True)
    c = GpioContactor(Output(22, False, factory), Input(23, False, "up", factory))
    assert factory.pin(22).state  # active low: high means off
    await c.set_closed(True)
    assert not factory.pin(22).state and await c.feedback_closed()
    await c.set_closed(False)
    assert not await c.feedback_closed()


async def test_lock_cycles_and_reports_stuck(factory: MockFactory) -> None:
    motor_lock = wire(factory, 5, 6, level=True, follow=False)
    motor_unlock = wire(factory, 13, 6, level=False, follow=False)
    lock = GpioSocketLock(
        Output(5, True, factory), Output(13, True, factory), Input(6, True, "off", factory),
        timeout=0.3,
    )  # fmt: skip
    assert await lock.set_locked(True)
    assert await lock.feedback_locked()
    assert not factory.pin(5).state and not factory.pin(13).state  # motor off afterwards
    assert await lock.set_locked(False)
    assert not await lock.feedback_locked()
    motor_lock.stuck = motor_unlock.stuck = True  # jammed: the motor runs, nothing moves
    assert not await lock.set_locked(True)
    assert not factory.pin(5).state  # the motor is not left powered
    await lock.close()


async def test_shunt_trip_with_and_without_confirmation(factory: MockFactory) -> None:
    wire(factory, 26, 19, level=True, follow=False)  # breaker aux: on once tripped
    shunt = GpioShuntTrip(Output(26, True, factory), Input(19, True, "off", factory), pulse=0.05)
    assert await shunt.trip()
    assert not factory.pin(26).state
    dead = GpioShuntTrip(Output(20, True, factory), Input(21, True, "off", factory), pulse=0.01,
                         confirm_timeout=0.1)  # fmt: skip
    assert not await dead.trip()  # the breaker did not move
    assert await GpioShuntTrip(Output(16, True, factory), None, pulse=0.01).trip()


async def test_digital_input_changes(factory: MockFactory) -> None:
    inp = GpioDigitalInput(Input(12, False, "up", factory), "tariff")
    await inp.start()
    it = inp.changes()
    assert await anext(it) is False
    factory.pin(12).drive_low()  # active low: the tariff contact closes
    assert await next_matching(it, lambda v: v, limit=2.0)
    assert await inp.read()
    factory.pin(12).drive_high()
    assert not await next_matching(it, lambda v: not v, limit=2.0)
    await asyncio.sleep(0)
    await inp.close()


async def test_phase_switch_relay_with_and_without_feedback(factory: MockFactory) -> None:
    from hal.drivers.gpio_phase_switch import GpioPhaseSwitch
    from hal.errors import DeviceError
    from hal.phase_switch import PhaseSwitch

    coil = wire(factory, 5, 6, level=True, follow=True)
    switch = GpioPhaseSwitch(Output(5, True, factory), Input(6, True, "off", factory), 0.0)
    assert isinstance(switch, PhaseSwitch)
    assert switch.phases == 3 and not factory.pin(5).state  # coil off at boot: all phases
    await switch.set_phases(1)
    assert switch.phases == 1 and factory.pin(5).state
    await switch.set_phases(3)
    assert switch.phases == 3 and not factory.pin(5).state
    coil.stuck = True  # the relay does not move: the aux contact says so
    with pytest.raises(DeviceError):
        await switch.set_phases(1)
    assert switch.phases == 3 and not factory.pin(5).state  # the coil is released again
    with pytest.raises(ValueError):
        await switch.set_phases(2)
    await switch.close()
    plain = GpioPhaseSwitch(Output(12, False, factory), None, 0.0)  # active-low, no aux
    await plain.set_phases(1)
    assert plain.phases == 1 and not factory.pin(12).state
    await plain.close()
