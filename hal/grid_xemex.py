"""Grid meter backends `XEMEX_BLACK` / `XEMEX_9600`: current sensors over Modbus RTU.

Polled with pymodbus (3.16, pinned). The port is a serial device
("/dev/ttyUSB0", 8E1 like the sensor's factory setting) or an RS-485 gateway
in transparent mode ("tcp://host:port", RTU frames over TCP).

Default register map, that of the Xemex CSMB current sensor as the community
ESPHome integration reads it (device id 1, 9600 baud 8E1): "RMS current
CT1..CT3" as IEEE-754 float32, big-endian words, in holding registers 0x500C,
0x500E, 0x5010 (amps; always positive: the sensor does not tell the direction).
It is configurable (docs/energy.md) because other sensor firmwares differ.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from typing import Any

from pymodbus import FramerType
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from hal.errors import DeviceError, DeviceTimeout
from hal.grid import GridReading
from ncpa.log import get_logger

log = get_logger(__name__)

FORMATS = ("int32_ma", "float32_a", "uint16_da")
FUNCTIONS = ("input", "holding")
BAUDRATES = {"XEMEX_BLACK": 19200, "XEMEX_9600": 9600}
PARITIES = ("N", "E", "O")
CSMB_CURRENT_CT1 = 0x500C  # CT1 float32 at 0x500C-D, CT2 at 0x500E-F, CT3 at 0x5010-11


@dataclass(frozen=True)
class RegisterMap:
    function: str = "holding"  # holding registers (FC 03) or input registers (FC 04)
    address: int = CSMB_CURRENT_CT1  # first register (0-based, as on the wire)
    format: str = "float32_a"  # float32_a: 2 registers per phase; int32_ma: mA; uint16_da: 0.1 A
    phases: int = 3

    def __post_init__(self) -> None:
        if self.function not in FUNCTIONS:
            raise ValueError(f"xemex register function {self.function!r}: one of {FUNCTIONS}")
        if self.format not in FORMATS:
            raise ValueError(f"xemex register format {self.format!r}: one of {FORMATS}")
        if not 0 <= self.address <= 0xFFFF:
            raise ValueError("xemex register address: 0..65535")
        if self.phases not in (1, 3):
            raise ValueError("xemex phases: 1 or 3")

    @property
    def per_phase(self) -> int:
        return 1 if self.format == "uint16_da" else 2

    @property
    def count(self) -> int:
        return self.per_phase * self.phases

    def decode(self, registers: list[int]) -> tuple[float, ...]:
        if len(registers) != self.count:
            raise DeviceError(f"xemex: {len(registers)} registers, expected {self.count}")
        out: list[float] = []
        for n in range(self.phases):
            words = registers[n * self.per_phase : (n + 1) * self.per_phase]
            if self.format == "uint16_da":
                value = words[0] / 10.0
            else:
                raw = (words[0] << 16) | words[1]
                if self.format == "int32_ma":
                    value = (raw - (1 << 32) if raw & 0x8000_0000 else raw) / 1000.0
                else:
                    value = _float32(raw)
            if not math.isfinite(value) or abs(value) > 1000:
                raise DeviceError(f"xemex: phase {n + 1} reads {value!r} A, not a current")
            out.append(value)
        return tuple(out)


def _float32(raw: int) -> float:
    import struct

    return float(struct.unpack(">f", raw.to_bytes(4, "big"))[0])


class XemexMeter:
    """Polls the sensor every `interval_s`; `read()` waits for the next poll."""

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 9600,
        parity: str = "E",
        device_id: int = 1,
        registers: RegisterMap | None = None,
        interval_s: float = 1.0,
        timeout_s: float = 1.0,
    ) -> None:
        if parity not in PARITIES:
            raise ValueError(f"xemex parity {parity!r}: one of {PARITIES}")
        if not 1 <= device_id <= 247:
            raise ValueError("xemex device id: 1..247")
        if interval_s <= 0 or timeout_s <= 0:
            raise ValueError("xemex interval and timeout: > 0")
        self.port = port
        self.device_id = device_id
        self.registers = registers or RegisterMap()
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self._client: AsyncModbusSerialClient | AsyncModbusTcpClient
        if port.startswith("tcp://"):
            host, _, tcp_port = port.removeprefix("tcp://").rpartition(":")
            if not host or not tcp_port.isdigit():
                raise ValueError(f"xemex port {port!r}: tcp://host:port")
            self._client = AsyncModbusTcpClient(
                host,
                port=int(tcp_port),
                framer=FramerType.RTU,
                timeout=timeout_s,
                retries=0,
                reconnect_delay=0,  # we reconnect ourselves, at the next poll
            )
        else:
            self._client = AsyncModbusSerialClient(
                port,
                framer=FramerType.RTU,
                baudrate=baudrate,
                parity=parity,
                timeout=timeout_s,
                retries=0,
                reconnect_delay=0,
            )
        self._latest: GridReading | None = None
        self._next_poll = 0.0

    @property
    def period_s(self) -> float:
        return self.interval_s

    def latest(self) -> GridReading | None:
        r = self._latest
        if r is None or time.time() - r.timestamp > 3 * self.interval_s + self.timeout_s:
            return None
        return r

    async def close(self) -> None:
        self._client.close()

    async def read(self) -> GridReading:
        delay = self._next_poll - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        self._next_poll = time.monotonic() + self.interval_s
        currents = await self.poll()
        reading = GridReading(current_a=currents, timestamp=time.time())
        self._latest = reading
        return reading

    async def poll(self) -> tuple[float, ...]:
        """One Modbus transaction: the phase currents now."""
        if not self._client.connected and not await self._client.connect():
            raise DeviceError(f"xemex {self.port}: cannot connect")
        regs = self.registers
        call: Any = (
            self._client.read_input_registers
            if regs.function == "input"
            else self._client.read_holding_registers
        )
        try:
            async with asyncio.timeout(self.timeout_s + 0.5):
                result = await call(regs.address, count=regs.count, device_id=self.device_id)
        except TimeoutError as e:
            self._client.close()  # a late answer must not be taken for the next one
            raise DeviceTimeout(f"xemex {self.port}: no answer") from e
        except ModbusException as e:
            self._client.close()
            if "timeout" in str(e).lower() or "no response" in str(e).lower():
                raise DeviceTimeout(f"xemex {self.port}: {e}") from e
            raise DeviceError(f"xemex {self.port}: {e}") from e
        if result.isError():
            code = getattr(result, "exception_code", "?")
            raise DeviceError(f"xemex {self.port}: exception response, code {code}")
        return regs.decode(list(result.registers))
