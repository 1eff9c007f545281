"""The RAPI charge controller driver against an emulated OpenEVSE on a pty."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hal.drivers import rapi_frames
from hal.drivers.rapi_evcc import RapiController, RapiRelay
from hal.errors import DeviceError
from hal.evcc import EvccFault, PilotState
from tests.drivers.rapi_device import RapiDevice
from tests.drivers.waiting import next_matching, until


@pytest.fixture
async def device() -> AsyncIterator[RapiDevice]:
    async with RapiDevice() as dev:
        yield dev  # type: ignore[misc]


@pytest.fixture
async def evcc(device: RapiDevice) -> AsyncIterator[RapiController]:
    ctl = RapiController(device.path, poll_interval=0.1, link_timeout=0.6, command_timeout=0.3)
    await ctl.start()
    yield ctl
    await ctl.close()


def test_frames_round_trip_and_checksums() -> None:
    raw = rapi_frames.encode("SC", "16", "V", seq=0x2A)
    assert raw.endswith(b"\r") and b" :2A^" in raw
    f = rapi_frames.decode(raw[:-1])
    assert (f.kind, f.args, f.seq) == ("SC", ("16", "V"), 0x2A)
    assert rapi_frames.decode(b"$FE*AF").kind == "FE"  # legacy additive checksum
    assert rapi_frames.decode(b"\x00\xff#$OK^20").kind == "OK"  # noise before '$'
    for bad in (b"$OK^21", b"$OK", b"garbage", b"$OK^ZZ"):
        with pytest.raises(rapi_frames.FrameError):
            rapi_frames.decode(bad)


async def test_start_puts_controller_to_sleep_and_reports_version(
    device: RapiDevice, evcc: RapiController
) -> None:
    # nothing is offered until the core asks: a booted controller is enabled
    await until(lambda: not device.enabled)
    assert await evcc.firmware_version() == "8.2.1"
    it = evcc.status_updates()
    first = await anext(it)
    assert first.pilot == PilotState.A and not first.faults


async def test_pilot_changes_and_offer(device: RapiDevice, evcc: RapiController) -> None:
    it = evcc.status_updates()
    device.set_pilot("B")
    await next_matching(it, lambda s: s.pilot == PilotState.B)
    await evcc.set_offered_current(16.7)
    assert device.enabled and device.amps == 16  # floored, volatile
    assert any(f.kind == "SC" and f.args == ("16", "V") for f in device.commands)
    device.set_pilot("C")
    await next_matching(it, lambda s: s.pilot == PilotState.C)
    assert device.relay_closed
    relay = RapiRelay(evcc)
    await until(lambda: evcc.relay_closed)
    assert await relay.feedback_closed()
    device.set_pilot("B")  # the EV pauses: the controller opens, the offer stays
    await next_matching(it, lambda s: s.pilot == PilotState.B)
    await relay.set_closed(False)
    assert device.enabled
    device.set_pilot("C")
    await next_matching(it, lambda s: s.pilot == PilotState.C)
    await relay.set_closed(False)  # the core opens while the EV asks: sleep at once
    assert not device.enabled and not device.relay_closed
    await evcc.set_offered_current(0)
    assert not device.enabled
    await evcc.set_offered_current(6)
    assert device.enabled
    with pytest.raises(ValueError):
        await evcc.set_offered_current(-1)


async def test_gfi_fault_is_rcd(device: RapiDevice, evcc: RapiController) -> None:
    it = evcc.status_updates()
    device.set_fault(0x06)
    s = await next_matching(it, lambda s: bool(s.faults))
    assert s.faults == {EvccFault.RCD}
    device.set_fault(0)
    await next_matching(it, lambda s: not s.faults)
    device.set_fault(0x08)  # stuck relay: the feedback must say closed (welded)
    await next_matching(it, lambda s: EvccFault.OTHER in s.faults)
    assert await RapiRelay(evcc).feedback_closed()


async def test_garbage_and_bad_checksums_are_dropped(
    device: RapiDevice, evcc: RapiController
) -> None:
    it = evcc.status_updates()
    device.inject(b"\x00\x13garbage\r$AT 02 02 32 0000^00\r\xff\xfe")
    device.corrupt_next = True
    device.set_pilot("B")  # the $AT with a bad checksum is dropped ...
    assert (await anext(it)).pilot == PilotState.A
    # ... and the next $GS poll brings the truth
    await next_matching(it, lambda s: s.pilot == PilotState.B)
    assert await evcc.firmware_version() == "8.2.1"


async def test_silent_controller_is_link_lost_and_recovers(
    device: RapiDevice, evcc: RapiController
) -> None:
    it = evcc.status_updates()
    await evcc.set_offered_current(16)
    device.silent = True
    s = await next_matching(it, lambda s: EvccFault.LINK_LOST in s.faults, limit=3.0)
    assert s.pilot == PilotState.A
    with pytest.raises(DeviceError):
        await evcc.firmware_version()
    # the controller comes back rebooted (enabled at its stored current): offer re-applied
    device.enabled, device.amps = True, 32
    device.silent = False
    await next_matching(it, lambda s: not s.faults, limit=3.0)
    await until(lambda: device.amps == 16 and device.enabled)


async def test_heartbeat_supervision(device: RapiDevice) -> None:
    ctl = RapiController(
        device.path, poll_interval=0.05, link_timeout=0.6, command_timeout=0.3,
        heartbeat_interval=10, heartbeat_current=6,
    )  # fmt: skip
    await ctl.start()
    try:
        await until(lambda: device.heartbeat == (10, 6))
        await ctl.set_offered_current(16)
        # the agent hung: the controller dropped to its heartbeat current
        device.heartbeat_missed, device.amps = True, 6
        await until(lambda: not device.heartbeat_missed)  # acknowledged ($SY 165) ...
        await until(lambda: device.amps == 16)  # ... and the wanted offer is back
        assert sum(f.kind == "SY" and not f.args for f in device.commands) >= 2  # pulses
    finally:
        await ctl.close()


async def test_missing_port_is_a_clear_error() -> None:
    with pytest.raises(DeviceError, match="/dev/nonexistent-tty"):
        await RapiController("/dev/nonexistent-tty").start()
