"""A real Modbus peer for the tests: a pymodbus server holding one meter's register map.

The server listens on loopback TCP. For RTU, it speaks RTU framing (with CRC) over that
TCP socket, and `PtyBridge` copies bytes between it and a pty, so the driver opens a
real serial device (/dev/pts/N) and exchanges real RTU frames.
Fault modes: "silent" (no answer), "crc" (answer with a broken CRC), "exception"
(Modbus exception response: device failure).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import struct
import tty
from collections.abc import AsyncIterator

from pymodbus import FramerType
from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from hal.drivers.register_map import TYPES, RegisterMap
from tests.ports import free_port


def encode(value: float, rtype: str, scale: float, word_order: str) -> list[int]:
    fmt, size = TYPES[rtype]
    raw_value: float | int = value / scale
    if "f" not in fmt and "d" not in fmt:
        raw_value = round(raw_value)
    raw = struct.pack(fmt, raw_value)
    words = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, 2 * size, 2)]
    return list(reversed(words)) if word_order == "little" else words


class MeterPeer:
    def __init__(
        self,
        register_map: RegisterMap,
        device_id: int = 1,
        framer: str = "socket",
        more_ids: tuple[int, ...] = (),
    ) -> None:
        self.map = register_map
        self.device_id = device_id
        self.framer = FramerType.RTU if framer == "rtu" else FramerType.SOCKET
        self.port = free_port()
        self.values: dict[str, float] = {
            "voltage_l1": 230.1, "voltage_l2": 229.5, "voltage_l3": 231.0,
            "current_l1": 16.0, "current_l2": 15.9, "current_l3": 16.1,
            "power_l1": 3680.0, "power_l2": 3650.0, "power_l3": 3700.0,
            "energy_import": 12345.0,
        }  # fmt: skip
        # other meters on the same bus (RS-485 line or gateway): their own values
        self.others: dict[int, dict[str, float]] = {i: dict(self.values) for i in more_ids}
        self.mode = "ok"
        self.requests = 0
        self._server: ModbusTcpServer | None = None

    async def _action(
        self,
        device_id: int,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        self.requests += 1
        if self.mode == "exception":
            return ExcCodes.DEVICE_FAILURE
        values = self.others.get(device_id, self.values)
        for r in self.map.registers:
            offset = r.address - start_address
            if offset >= 0 and offset + r.size <= len(registers):
                words = encode(values.get(r.name, 0.0), r.type, r.scale, r.word_order)
                registers[offset : offset + r.size] = words
        return None

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if sending and self.mode == "silent":
            return b""
        if sending and self.mode == "crc":
            return data[:-1] + bytes([data[-1] ^ 0xFF])
        return data

    async def start(self) -> None:
        blocks = [
            SimData(address=b.address, count=b.count, values=0, datatype=DataType.REGISTERS)
            for b in self.map.blocks()
        ]
        devices = [
            SimDevice(id=i, simdata=list(blocks), action=functools.partial(self._action, i))
            for i in (self.device_id, *self.others)
        ]
        self._server = ModbusTcpServer(
            devices, address=("127.0.0.1", self.port), framer=self.framer, trace_packet=self._trace
        )
        await self._server.serve_forever(background=True)

    async def stop(self) -> None:
        if self._server:
            await self._server.shutdown()


class PtyBridge:
    """Copies bytes between a pty (the driver's serial port) and a TCP peer."""

    def __init__(self, tcp_port: int) -> None:
        self.tcp_port = tcp_port
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.tcp_port)
        loop = asyncio.get_running_loop()

        def from_pty() -> None:
            with contextlib.suppress(OSError):
                writer.write(os.read(self.master, 4096))

        loop.add_reader(self.master, from_pty)

        async def to_pty() -> None:
            try:
                while data := await reader.read(4096):
                    os.write(self.master, data)
            finally:
                writer.close()

        self._task = asyncio.create_task(to_pty())

    async def stop(self) -> None:
        asyncio.get_running_loop().remove_reader(self.master)
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await self._task
        os.close(self.master)
        os.close(self.slave)


@contextlib.asynccontextmanager
async def meter_peer(register_map: RegisterMap, **kw: object) -> AsyncIterator[MeterPeer]:
    peer = MeterPeer(register_map, **kw)  # type: ignore[arg-type]
    await peer.start()
    try:
        yield peer
    finally:
        await peer.stop()
