"""P1 backend: DSMR telegrams of several meter generations, parsed and through a pty."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

import pytest

from hal.errors import DeviceError, DeviceTimeout
from hal.grid import TariffPeriod
from hal.grid_p1 import P1Error, P1Meter, detect_version, parse_telegram
from tests.energy import telegrams as T


def test_dsmr22_estimates_every_phase_from_total_power() -> None:
    version, r = parse_telegram(T.dsmr22(usage_kw=2.3, tariff=1))
    assert version == "2.2"
    assert r.current_a == pytest.approx((10.0, 10.0, 10.0))
    assert r.tariff is TariffPeriod.LOW  # Dutch meter: tariff 1 is the low tariff


def test_dsmr22_single_phase_installation() -> None:
    _, r = parse_telegram(T.dsmr22(usage_kw=2.3), phases=1)
    assert r.current_a == pytest.approx((10.0,))


def test_dsmr4_per_phase_currents_and_power() -> None:
    version, r = parse_telegram(T.dsmr4((3, 1, 2), tariff=2))
    assert version == "4"
    assert r.current_a == (3.0, 1.0, 2.0)
    assert r.power_w == pytest.approx((690.0, 230.0, 460.0))
    assert r.voltage_v is None
    assert r.tariff is TariffPeriod.HIGH


def test_dsmr5_currents_voltages_and_tariff() -> None:
    version, r = parse_telegram(T.dsmr5((10, 4, 2), tariff=1))
    assert version == "5"
    assert r.current_a == (10.0, 4.0, 2.0)
    assert r.voltage_v == (230.0, 230.0, 230.0)
    assert r.tariff is TariffPeriod.LOW


def test_dsmr5_single_phase_meter_reports_one_phase() -> None:
    _, r = parse_telegram(T.dsmr5((13,)))
    assert r.current_a == (13.0,)


def test_export_reads_negative_and_is_not_overstated() -> None:
    _, r = parse_telegram(T.dsmr5((7,), export_l1_kw=2.3))
    assert r.current_a == (-7.0,)  # the whole amps the meter reports, not P/V = 10 A
    assert r.power_w == (-2300.0,)


def test_whole_amps_are_rounded_up_by_the_power() -> None:
    # 2.0 A reported but 0.690 kW at 230 V is 3 A: the fuse sees 3 A
    text = T.dsmr5((2, 0, 0)).replace("1-0:21.7.0(00.460*kW)", "1-0:21.7.0(00.690*kW)")
    text = T.with_crc(text.split("\r\n")[:-2])  # recompute the CRC over the edited body
    _, r = parse_telegram(text)
    assert r.current_a[0] == pytest.approx(3.0)


def test_belgian_emucs_tariff_counts_the_other_way() -> None:
    version, r = parse_telegram(T.emucs((8.5, 3.0, 1.25), tariff=2))
    assert version == "be"
    assert r.current_a == pytest.approx((8.5, 3.0, 1.25), abs=0.01)
    assert r.tariff is TariffPeriod.LOW  # Fluvius: tariff 2 is the night tariff
    _, day = parse_telegram(T.emucs(tariff=1))
    assert day.tariff is TariffPeriod.HIGH


def test_configured_low_tariff_code_wins() -> None:
    _, r = parse_telegram(T.dsmr5(tariff=2), low_tariff_code=2)
    assert r.tariff is TariffPeriod.LOW


def test_corrupt_crc_is_refused() -> None:
    with pytest.raises(P1Error, match="CRC"):
        parse_telegram(T.corrupt_crc(T.dsmr5()))


def test_missing_crc_on_a_crc_meter_is_refused() -> None:
    text = T.dsmr5()
    without = text[: text.rindex("!") + 1] + "\r\n"
    with pytest.raises(P1Error, match="without CRC"):
        parse_telegram(without, version="5")


def test_detect_version() -> None:
    assert detect_version(T.dsmr22()) == "2.2"
    assert detect_version(T.dsmr4()) == "4"
    assert detect_version(T.dsmr5()) == "5"
    assert detect_version(T.emucs()) == "be"


# -- through a pty, as the P1 port ---------------------------------------------------


@pytest.fixture
async def pty_meter() -> AsyncIterator[tuple[int, P1Meter]]:
    master, slave = os.openpty()
    meter = P1Meter(os.ttyname(slave), timeout_s=1.0, reopen_delay_s=0.05)
    meter.start()
    await asyncio.wait_for(meter.opened.wait(), 2.0)
    yield master, meter
    await meter.close()
    for fd in (master, slave):
        with contextlib.suppress(OSError):
            os.close(fd)


def send(fd: int, text: str) -> None:
    os.write(fd, text.encode("ascii"))


async def test_pty_reads_each_generation(pty_meter: tuple[int, P1Meter]) -> None:
    master, meter = pty_meter
    for telegram, expected in (
        (T.dsmr22(usage_kw=0.23), (1.0, 1.0, 1.0)),
        (T.dsmr4((5, 6, 7)), (5.0, 6.0, 7.0)),
        (T.dsmr5((11, 0, 1)), (11.0, 0.0, 1.0)),
    ):
        pending = asyncio.ensure_future(meter.read())
        await asyncio.sleep(0.01)
        send(master, telegram)
        reading = await pending
        assert reading.current_a == pytest.approx(expected)
    assert meter.latest() is not None


async def test_pty_telegram_in_small_pieces(pty_meter: tuple[int, P1Meter]) -> None:
    master, meter = pty_meter
    pending = asyncio.ensure_future(meter.read())
    text = T.dsmr5((9, 8, 7))
    for i in range(0, len(text), 37):
        send(master, text[i : i + 37])
        await asyncio.sleep(0.001)
    assert (await pending).current_a == (9.0, 8.0, 7.0)


async def test_pty_corrupt_and_truncated_telegrams_are_dropped(
    pty_meter: tuple[int, P1Meter],
) -> None:
    master, meter = pty_meter
    pending = asyncio.ensure_future(meter.read())
    send(master, T.truncated(T.dsmr5((20, 20, 20))))
    send(master, T.corrupt_crc(T.dsmr5((21, 21, 21))))
    send(master, T.dsmr5((3, 2, 1)))
    reading = await pending
    assert reading.current_a == (3.0, 2.0, 1.0)
    assert meter.errors == 1  # the CRC one; the cut one never formed a frame


async def test_pty_after_a_crc_meter_a_telegram_without_crc_is_corrupt(
    pty_meter: tuple[int, P1Meter],
) -> None:
    master, meter = pty_meter
    pending = asyncio.ensure_future(meter.read())
    send(master, T.dsmr5((1, 1, 1)))
    await pending
    text = T.dsmr5((30, 30, 30))
    pending = asyncio.ensure_future(meter.read())
    send(master, text[: text.rindex("!") + 1] + "\r\n")  # CRC digits lost on the line
    send(master, T.dsmr5((2, 2, 2)))
    assert (await pending).current_a == (2.0, 2.0, 2.0)
    assert meter.errors == 1


async def test_pty_silence_is_a_timeout(pty_meter: tuple[int, P1Meter]) -> None:
    _, meter = pty_meter
    with pytest.raises(DeviceTimeout):
        await meter.read()


async def test_pty_only_garbage_is_a_timeout(pty_meter: tuple[int, P1Meter]) -> None:
    master, meter = pty_meter
    pending = asyncio.ensure_future(meter.read())
    send(master, T.corrupt_crc(T.dsmr5()) * 3)
    with pytest.raises(DeviceTimeout):
        await pending
    assert meter.errors == 3


async def test_missing_port_is_a_device_error() -> None:
    meter = P1Meter("/dev/does-not-exist-p1", timeout_s=1.0, reopen_delay_s=0.05)
    try:
        with pytest.raises(DeviceError):
            await meter.read()
    finally:
        await meter.close()


async def test_pty_port_lost_is_a_device_error(pty_meter: tuple[int, P1Meter]) -> None:
    master, meter = pty_meter
    pending = asyncio.ensure_future(meter.read())
    send(master, T.dsmr5((4, 4, 4)))
    await pending
    pending = asyncio.ensure_future(meter.read())
    await asyncio.sleep(0.01)
    os.close(master)  # the cable is pulled: the port reports an I/O error
    with pytest.raises(DeviceError):
        await pending
