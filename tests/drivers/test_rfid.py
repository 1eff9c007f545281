"""RFID readers (PN532 over HSU, RDM6300) against byte-level emulators on a pty."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hal.drivers.card_reader import CardDebouncer
from hal.drivers.pn532_reader import Pn532Reader, build_frame, parse_frames, uid_from_target
from hal.drivers.rdm6300_reader import Rdm6300Reader
from hal.drivers.rdm6300_reader import parse_frames as rdm_frames
from tests.drivers.rfid_devices import Pn532Device, Rdm6300Device, rdm6300_frame
from tests.drivers.waiting import until


async def take(it: AsyncIterator[str], limit: float = 3.0) -> str:
    async with asyncio.timeout(limit):
        return await anext(it)


async def nothing_within(it: AsyncIterator[str], seconds: float) -> bool:
    try:
        async with asyncio.timeout(seconds):
            await anext(it)
    except TimeoutError:
        return True
    return False


def test_debouncer() -> None:
    d = CardDebouncer(release=1.0)
    assert d.seen("A", 0.0)
    assert not d.seen("A", 0.5)
    assert not d.seen("A", 1.2)  # still held: every sighting extends the presentation
    assert d.seen("B", 1.3)  # another card at once
    assert d.seen("B", 3.0)  # taken away and presented again


def test_pn532_frames() -> None:
    frame = build_frame(0xD4, 0x4A, bytes([1, 0]))
    assert frame == bytes.fromhex("0000ff04fcd44a0100e100")
    buf = bytearray(b"\x13\x37" + bytes.fromhex("0000ff00ff00") + frame + b"\x00")
    kinds = [f.kind for f in parse_frames(buf)]
    assert kinds == ["ack", "data"] and buf == b"\x00"
    broken = bytearray(frame)
    broken[-2] ^= 1
    assert [f.kind for f in parse_frames(broken)] == ["bad"]
    answer = bytes.fromhex("d54b01010004080704a1b2c3d4e5f6")
    assert uid_from_target(answer) == "04A1B2C3D4E5F6"
    assert uid_from_target(bytes.fromhex("d54b00")) is None


def test_rdm6300_frames_with_noise_and_bad_checksum() -> None:
    tag = bytes.fromhex("0A0001E240")
    buf = bytearray(
        b"\xff\x02junk"
        + rdm6300_frame(tag)
        + rdm6300_frame(tag, corrupt=True)
        + rdm6300_frame(tag)[:5]
    )
    assert rdm_frames(buf) == ["0A0001E240"]
    assert bytes(buf) == rdm6300_frame(tag)[:5]  # the partial frame waits for its end


async def test_pn532_reads_a_card_once_per_presentation() -> None:
    async with Pn532Device() as dev:
        assert isinstance(dev, Pn532Device)
        reader = Pn532Reader(dev.path, poll_interval=0.02, release=0.3, answer_timeout=0.3)
        await reader.start()
        try:
            it = reader.cards()
            await until(lambda: reader.healthy)
            assert reader.version == "PN532 v1.6"
            dev.card = bytes.fromhex("04A1B2C3D4E5F6")
            assert await take(it) == "04A1B2C3D4E5F6"
            polls = dev.polls
            await until(lambda: dev.polls > polls + 5)  # held on the reader: no new event
            assert await nothing_within(it, 0.05)
            dev.card = None
            await until(lambda: dev.polls > polls + 30)  # away for longer than `release`
            dev.card = bytes.fromhex("DEADBEEF")
            assert await take(it) == "DEADBEEF"
            # a corrupted answer and line noise are survived
            dev.card = None
            dev.corrupt_next = True
            dev.inject(b"\x00\xff\x13garbage")
            dev.card = bytes.fromhex("01020304")
            assert await take(it) == "01020304"
        finally:
            await reader.close()


async def test_pn532_silent_then_back() -> None:
    async with Pn532Device() as dev:
        assert isinstance(dev, Pn532Device)
        reader = Pn532Reader(dev.path, poll_interval=0.02, answer_timeout=0.1, max_failures=2)
        reader.retry = 0.1
        await reader.start()
        try:
            await until(lambda: reader.healthy)
            dev.silent = True
            await until(lambda: not reader.healthy)
            dev.silent = False
            dev.awake = False  # it was power-cycled: needs the wake-up again
            await until(lambda: reader.healthy)
            it = reader.cards()
            dev.card = bytes.fromhex("CAFEBABE")
            assert await take(it) == "CAFEBABE"
        finally:
            await reader.close()


async def test_rdm6300_debounces_a_held_card() -> None:
    async with Rdm6300Device() as dev:
        assert isinstance(dev, Rdm6300Device)
        reader = Rdm6300Reader(dev.path, release=0.3)
        await reader.start()
        try:
            it = reader.cards()
            tag = bytes.fromhex("0A0001E240")
            dev.present(tag, times=5)  # held: the reader repeats the frame
            assert await take(it) == "0A0001E240"
            assert await nothing_within(it, 0.1)
            dev.present(tag, corrupt=True)
            dev.inject(b"\x00\x02\x02noise")
            dev.present(bytes.fromhex("1100AABBCC"))
            assert await take(it) == "1100AABBCC"
        finally:
            await reader.close()


async def test_missing_port() -> None:
    from hal.errors import DeviceError

    with pytest.raises(DeviceError, match="/dev/no-such-reader"):
        await Rdm6300Reader("/dev/no-such-reader").start()


async def test_a_port_in_use_is_refused() -> None:
    from hal.errors import DeviceError

    async with Rdm6300Device() as dev:
        first = Rdm6300Reader(dev.path)
        await first.start()
        try:
            with pytest.raises(DeviceError, match="in use by another program"):
                await Rdm6300Reader(dev.path).start()
        finally:
            await first.close()
