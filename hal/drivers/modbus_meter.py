"""Energy meter over Modbus (RTU over RS-485, or TCP), driven by a register map.

`ModbusLink` is one bus (a serial port or a TCP connection) with a lock, shared by
every meter on it; `ModbusMeter` is one meter (device id + register map) on a link.
Timeouts, CRC errors and exception responses raise hal.errors.DeviceError (or
DeviceTimeout); the link is closed after an error and reconnected on the next read.
Readings that cannot be right (energy register going backwards, absurd voltage or
current, NaN) are rejected with a DeviceError and logged, never passed on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from hal.drivers.register_map import RegisterMap, is_finite
from hal.errors import DeviceError, DeviceTimeout
from hal.meter import MeterReading
from ncpa.log import get_logger

log = get_logger(__name__)

EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "device failure",
    5: "acknowledge",
    6: "device busy",
    10: "gateway path unavailable",
    11: "gateway target failed to respond",
}


@dataclass(frozen=True)
class Plausibility:
    """Bounds beyond which a reading is a wiring, mapping or transmission error."""

    max_voltage: float = 300.0  # phase to neutral, V
    max_current: float = 100.0  # A
    max_power: float = 30_000.0  # per phase, W
    # the energy register may not jump more than this power would explain, plus a margin
    max_energy_rate_w: float = 100_000.0
    energy_jump_margin_wh: float = 1_000.0


class ModbusLink:
    """One Modbus bus. Serial: `port` is a device path; TCP: `host` and `tcp_port`."""

    def __init__(
        self,
        *,
        port: str = "",
        baudrate: int = 9600,
        parity: str = "N",
        stopbits: int = 1,
        host: str = "",
        tcp_port: int = 502,
        timeout: float = 0.4,
        retries: int = 1,
    ) -> None:
        self.label = f"{host}:{tcp_port}" if host else port
        # pymodbus logs every missed answer at ERROR; this driver raises (and the core
        # logs) a DeviceError for each, so its own lines would only double them
        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
        self._timeout = timeout
        self._retries = retries
        self._received = 0  # bytes received since the last request (to tell CRC from silence)
        self._lock = asyncio.Lock()
        self._client: AsyncModbusSerialClient | AsyncModbusTcpClient
        if host:
            self._client = AsyncModbusTcpClient(
                host,
                port=tcp_port,
                timeout=timeout,
                retries=retries,
                reconnect_delay=0,  # we reconnect ourselves, on the next read
                trace_packet=self._trace,
            )
        else:
            self._client = AsyncModbusSerialClient(
                port,
                baudrate=baudrate,
                parity=parity,
                stopbits=stopbits,
                timeout=timeout,
                retries=retries,
                reconnect_delay=0,
                trace_packet=self._trace,
            )

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if sending:
            self._received = 0
        else:
            self._received += len(data)
        return data

    async def read(self, function: str, address: int, count: int, device_id: int) -> list[int]:
        async with self._lock:
            if not self._client.connected and not await self._connect():
                raise DeviceTimeout(f"modbus {self.label}: cannot connect")
            try:
                if function == "input":
                    call = self._client.read_input_registers(
                        address, count=count, device_id=device_id
                    )
                else:
                    call = self._client.read_holding_registers(
                        address, count=count, device_id=device_id
                    )
                # pymodbus bounds each try by `timeout`; this outer bound is a safety net
                budget = self._timeout * (self._retries + 1) + 1.0
                async with asyncio.timeout(budget):
                    response = await call
            except (TimeoutError, ModbusIOException) as e:
                if self._received:
                    # bytes came back but no valid frame: CRC error or line noise
                    raise DeviceError(
                        f"modbus {self.label} id {device_id}: garbled answer (CRC error)"
                    ) from e
                raise DeviceTimeout(f"modbus {self.label} id {device_id}: no answer") from e
            except ConnectionException as e:
                self._client.close()
                raise DeviceTimeout(f"modbus {self.label}: connection lost") from e
            except ModbusException as e:
                raise DeviceError(f"modbus {self.label} id {device_id}: {e}") from e
            if response.isError():
                code = int(getattr(response, "exception_code", 0))
                name = EXCEPTION_NAMES.get(code, "unknown")
                raise DeviceError(
                    f"modbus {self.label} id {device_id}: exception {code} ({name}) "
                    f"reading {count} registers at {address:#06x}"
                )
            regs = list(response.registers)
            if len(regs) != count:
                raise DeviceError(
                    f"modbus {self.label} id {device_id}: {len(regs)} registers, expected {count}"
                )
            return regs

    async def _connect(self) -> bool:
        try:
            async with asyncio.timeout(self._timeout + 1.0):
                return bool(await self._client.connect())
        except (TimeoutError, OSError, ModbusException):
            return False

    async def close(self) -> None:
        self._client.close()


class ModbusMeter:
    """hal.meter.EnergyMeter for one meter on a Modbus link."""

    def __init__(
        self,
        link: ModbusLink,
        register_map: RegisterMap,
        device_id: int = 1,
        limits: Plausibility | None = None,
    ) -> None:
        self.link = link
        self.map = register_map
        self.device_id = device_id
        self.limits = limits or Plausibility()
        self._blocks = register_map.blocks()
        self._last: MeterReading | None = None
        self._candidate: MeterReading | None = None  # a rejected reading, maybe a new series
        self._consistent = 0
        self.rebase_after = 5

    async def read(self) -> MeterReading:
        values: dict[str, float] = {}
        for block in self._blocks:
            words = await self.link.read(
                self.map.function, block.address, block.count, self.device_id
            )
            values.update(block.decode(words))
        reading = MeterReading(
            voltage_v=_phases(values, "voltage"),
            current_a=_phases(values, "current"),
            power_w=_phases(values, "power"),
            energy_wh=values["energy_import"],
            timestamp=time.time(),
        )
        problem = self._implausible(reading, self._last)
        if problem and not self._new_baseline(reading, problem):
            log.warning("meter.implausible", meter=self.link.label, id=self.device_id, why=problem)
            raise DeviceError(f"meter {self.link.label} id {self.device_id}: {problem}")
        self._last = reading
        self._candidate, self._consistent = None, 0
        return reading

    def _new_baseline(self, r: MeterReading, problem: str) -> bool:
        """A glitch is rejected; but an energy register that keeps counting, plausibly,
        from a new value (a meter swapped or reset under a running agent) becomes the new
        baseline after `rebase_after` consistent readings, rather than a fault forever."""
        if not problem.startswith("energy register"):
            return False
        if self._candidate is not None and not self._implausible(r, self._candidate):
            self._consistent += 1
        else:
            self._consistent = 0
        self._candidate = r
        if self._consistent < self.rebase_after:
            return False
        log.error(
            "meter.new_baseline", meter=self.link.label, id=self.device_id,
            was=self._last.energy_wh if self._last else None, now=r.energy_wh,
        )  # fmt: skip
        return True

    def _implausible(self, r: MeterReading, last: MeterReading | None) -> str:
        lim = self.limits
        if not is_finite(*r.voltage_v, *r.current_a, *r.power_w, r.energy_wh):
            return "non-finite value"
        if any(v < 0 or v > lim.max_voltage for v in r.voltage_v):
            return f"voltage out of range: {r.voltage_v}"
        if any(abs(i) > lim.max_current for i in r.current_a):
            return f"current out of range: {r.current_a}"
        if any(abs(p) > lim.max_power for p in r.power_w):
            return f"power out of range: {r.power_w}"
        if r.energy_wh < 0:
            return f"negative energy register: {r.energy_wh}"
        if last is not None:
            if r.energy_wh < last.energy_wh:
                return f"energy register went backwards: {last.energy_wh} -> {r.energy_wh} Wh"
            hours = max(0.0, r.timestamp - last.timestamp) / 3600.0
            allowed = lim.max_energy_rate_w * hours + lim.energy_jump_margin_wh
            if r.energy_wh - last.energy_wh > allowed:
                return f"energy register jumped: {last.energy_wh} -> {r.energy_wh} Wh"
        return ""


def _phases(values: dict[str, float], quantity: str) -> tuple[float, float, float]:
    # phases a meter does not have (1-phase maps) read 0, as hal.meter says
    return (
        values.get(f"{quantity}_l1", 0.0),
        values.get(f"{quantity}_l2", 0.0),
        values.get(f"{quantity}_l3", 0.0),
    )
