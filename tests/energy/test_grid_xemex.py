"""Xemex backend against a real pymodbus server (RTU frames over loopback TCP)."""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from pymodbus import FramerType
from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from hal.errors import DeviceError, DeviceTimeout
from hal.grid_xemex import CSMB_CURRENT_CT1, RegisterMap, XemexMeter


def float32(*amps: float) -> list[int]:
    out = []
    for a in amps:
        raw = int.from_bytes(struct.pack(">f", a), "big")
        out += [raw >> 16, raw & 0xFFFF]
    return out


def int32_ma(*amps: float) -> list[int]:
    out = []
    for a in amps:
        raw = round(a * 1000) & 0xFFFF_FFFF
        out += [raw >> 16, raw & 0xFFFF]
    return out


@dataclass
class Sensor:
    """What the server answers: registers, or an exception code, or silence."""

    registers: list[int] = field(default_factory=lambda: float32(10.0, 5.0, 0.25))
    exception: ExcCodes | None = None
    silent: bool = False
    requests: int = 0


@pytest.fixture
async def sensor() -> AsyncIterator[tuple[Sensor, int]]:
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # it logs every timeout
    state = Sensor()

    async def action(
        _fc: int,
        start: int,
        address: int,
        count: int,
        registers: list[int],
        _values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        state.requests += 1
        if state.silent:
            await asyncio.sleep(5)
        if state.exception is not None:
            return state.exception
        # the values the test set, at the address asked for (the map under test decides it)
        at = address - start
        registers[at : at + count] = state.registers[:count]
        return None

    bits = [SimData(0, values=False, datatype=DataType.BITS)]
    holding = [
        SimData(0, count=16, values=0, datatype=DataType.REGISTERS),
        SimData(CSMB_CURRENT_CT1, count=6, values=0, datatype=DataType.REGISTERS),
    ]
    inputs = [SimData(0, count=16, values=0, datatype=DataType.REGISTERS)]
    device = SimDevice(id=7, simdata=(bits, bits, holding, inputs), action=action)
    server = ModbusTcpServer(device, framer=FramerType.RTU, address=("127.0.0.1", 0))
    await server.serve_forever(background=True)
    port = server.transport.sockets[0].getsockname()[1]
    yield state, port
    await server.shutdown()


def meter(port: int, **kw: object) -> XemexMeter:
    return XemexMeter(
        f"tcp://127.0.0.1:{port}",
        device_id=7,
        interval_s=0.01,
        timeout_s=0.3,
        **kw,  # type: ignore[arg-type]
    )


async def test_reads_csmb_currents(sensor: tuple[Sensor, int]) -> None:
    state, port = sensor
    m = meter(port)  # the default map: CSMB holding registers 0x500C.., float32
    try:
        reading = await m.read()
        assert reading.current_a == (10.0, 5.0, 0.25)
        state.registers = float32(17.5, 0.0, 31.0)
        assert (await m.read()).current_a == (17.5, 0.0, 31.0)
        assert m.latest() is not None
    finally:
        await m.close()


async def test_int32_milliamps_in_input_registers(sensor: tuple[Sensor, int]) -> None:
    state, port = sensor
    state.registers = int32_ma(-3.5, 0.0, 31.0)  # negative: the phase exports
    m = meter(port, registers=RegisterMap("input", 0, "int32_ma"))
    try:
        assert (await m.read()).current_a == (-3.5, 0.0, 31.0)
    finally:
        await m.close()


async def test_holding_registers_in_tenths_single_phase(sensor: tuple[Sensor, int]) -> None:
    state, port = sensor
    state.registers = [123]
    m = meter(port, registers=RegisterMap("holding", 0, "uint16_da", phases=1))
    try:
        assert (await m.read()).current_a == (12.3,)
    finally:
        await m.close()


async def test_exception_response_is_a_device_error(sensor: tuple[Sensor, int]) -> None:
    state, port = sensor
    m = meter(port)
    try:
        state.exception = ExcCodes.DEVICE_FAILURE
        with pytest.raises(DeviceError, match="exception response"):
            await m.read()
        state.exception = None
        assert (await m.read()).current_a == (10.0, 5.0, 0.25)  # recovers on the next poll
    finally:
        await m.close()


async def test_illegal_address_is_a_device_error(sensor: tuple[Sensor, int]) -> None:
    _, port = sensor
    m = meter(port, registers=RegisterMap("input", 200, "int32_ma"))  # nothing there
    try:
        with pytest.raises(DeviceError):
            await m.read()
    finally:
        await m.close()


async def test_silent_sensor_is_a_timeout_then_recovers(sensor: tuple[Sensor, int]) -> None:
    state, port = sensor
    m = meter(port)
    try:
        state.silent = True
        with pytest.raises(DeviceTimeout):
            await m.read()
        state.silent = False
        assert (await m.read()).current_a == (10.0, 5.0, 0.25)
    finally:
        await m.close()


async def test_implausible_value_is_refused(sensor: tuple[Sensor, int]) -> None:
    state, port = sensor
    state.registers = float32(10.0, 5_000.0, 0.0)  # 5 kA: a unit mistake, not a current
    m = meter(port)
    try:
        with pytest.raises(DeviceError, match="not a current"):
            await m.read()
    finally:
        await m.close()


async def test_nobody_listening_is_a_device_error() -> None:
    m = XemexMeter("tcp://127.0.0.1:1", interval_s=0.01, timeout_s=0.2)
    try:
        with pytest.raises(DeviceError):
            await m.read()
    finally:
        await m.close()


def test_bad_register_map_is_refused() -> None:
    with pytest.raises(ValueError, match="format"):
        RegisterMap(format="bcd")
    with pytest.raises(ValueError, match="tcp://host:port"):
        XemexMeter("tcp://nohost")
    with pytest.raises(ValueError, match="parity"):
        XemexMeter("/dev/ttyUSB0", parity="X")
