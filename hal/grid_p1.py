"""Grid meter backend `P1`: DSMR smart-meter telegrams from the P1 port.

The meter pushes one telegram every 1 s (DSMR 5, e-MUCS) or 10 s (DSMR 2.2
to 4). dsmr-parser frames (TelegramBuffer), checks the CRC (DSMR 4 and up) and
parses (TelegramParser); this module picks the specification per telegram,
turns a telegram into a GridReading and keeps the port open, reopening it
when it fails.

Meter generations:
- DSMR 2.2 / 3: no CRC, no per-phase values; only the total power (1.7.0).
  The current of every phase is estimated as total power / nominal voltage,
  as if the whole load sat on each phase: conservative for a fuse.
- DSMR 4.x: CRC, per-phase currents (31/51/71.7.0, whole amps) and powers.
- DSMR 5.0 and Belgian e-MUCS (Fluvius): as 4.x, plus voltages; e-MUCS
  carries 0-0:96.1.4 and counts its tariffs the other way round.

A phase current is reported as whole amps (rounded down by many meters), so
when the power and voltage of the phase are known the larger of |I| and
|P|/V is used; a phase whose power flows out (solar export) reads negative.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from dsmr_parser import telegram_specifications
from dsmr_parser.clients.telegram_buffer import TelegramBuffer
from dsmr_parser.exceptions import ParseError
from dsmr_parser.parsers import TelegramParser

from hal.errors import DeviceError
from hal.grid import GridReading, NextReading, TariffPeriod
from ncpa.log import get_logger

log = get_logger(__name__)

NOMINAL_VOLTAGE = 230.0
VERSIONS = ("auto", "2.2", "4", "5", "be")
# telegram tariff code of the low tariff: 1 in the Netherlands (tariff 1 = "dal"),
# 2 in Belgium (tariff 1 = day, tariff 2 = night)
LOW_TARIFF_CODE = {"2.2": 1, "4": 1, "5": 1, "be": 2}
_MAX_BUFFER = 16 * 1024  # a meter telegram is < 2 kB; more without a frame is garbage
_CRC_RE = re.compile(r"![0-9A-Fa-f]{4}")


class P1Error(DeviceError):
    """A telegram was corrupt (CRC), cut short or unreadable."""


_SPECS: dict[str, dict[str, Any]] = {
    "2.2": telegram_specifications.V2_2,
    "4": telegram_specifications.V4,
    "5": telegram_specifications.V5,
    "be": telegram_specifications.BELGIUM_FLUVIUS,
}
_PARSERS = {name: TelegramParser(spec) for name, spec in _SPECS.items()}


def detect_version(telegram: str) -> str:
    """Which specification a telegram follows: "2.2", "4", "5" or "be"."""
    if "0-0:96.1.4(" in telegram:
        return "be"
    header = re.search(r"1-3:0\.2\.8\((\d+)\)", telegram)
    if header:
        return "4" if header.group(1).startswith("4") else "5"
    return "5" if _CRC_RE.search(telegram) else "2.2"


def _value(telegram: Any, name: str) -> Decimal | None:
    obj = getattr(telegram, name, None)
    value = getattr(obj, "value", None) if obj is not None else None
    return value if isinstance(value, Decimal) else None


def parse_telegram(
    text: str,
    *,
    version: str = "auto",
    phases: int = 3,
    low_tariff_code: int | None = None,
    nominal_voltage: float = NOMINAL_VOLTAGE,
    now: float | None = None,
) -> tuple[str, GridReading]:
    """Parse one whole telegram ("/" to "!CRC\\r\\n"). Returns (version, reading).

    Raises P1Error on a CRC mismatch, a missing CRC where the version needs
    one, or a telegram without any usable current or power.
    """
    used = detect_version(text) if version == "auto" else version
    if used not in _PARSERS:
        raise P1Error(f"P1: unknown DSMR version {version!r}, one of {VERSIONS}")
    if used != "2.2" and not _CRC_RE.search(text):
        raise P1Error("P1: telegram without CRC")
    try:
        telegram = _PARSERS[used].parse(text)
    except ParseError as e:  # InvalidChecksumError is a ParseError
        raise P1Error(f"P1: {e}") from e
    currents: list[float] = []
    powers: list[float] = []
    volts: list[float] = []
    have_volts = _value(telegram, "INSTANTANEOUS_VOLTAGE_L1") is not None
    for n in (1, 2, 3):
        i = _value(telegram, f"INSTANTANEOUS_CURRENT_L{n}")
        p_in = _value(telegram, f"INSTANTANEOUS_ACTIVE_POWER_L{n}_POSITIVE")
        p_out = _value(telegram, f"INSTANTANEOUS_ACTIVE_POWER_L{n}_NEGATIVE")
        v = _value(telegram, f"INSTANTANEOUS_VOLTAGE_L{n}")
        if i is None and p_in is None:
            break
        power = (float(p_in or 0) - float(p_out or 0)) * 1000.0  # kW -> W
        volt = float(v) if v else nominal_voltage
        if power < 0:
            # exporting: credit only what the meter is sure of (whole amps, rounded down)
            currents.append(-(abs(float(i)) if i is not None else -power / volt))
        else:
            currents.append(max(abs(float(i)) if i is not None else 0.0, power / volt))
        powers.append(power)
        volts.append(volt)
    if not currents:
        usage = _value(telegram, "CURRENT_ELECTRICITY_USAGE")
        if usage is None:
            raise P1Error("P1: telegram without current or power")
        delivery = _value(telegram, "CURRENT_ELECTRICITY_DELIVERY")
        total = (float(usage) - float(delivery or 0)) * 1000.0
        # no per-phase values: assume the whole load on every phase (worst case)
        currents = [total / nominal_voltage] * phases
        powers = []
        have_volts = False
    tariff: TariffPeriod | None = None
    code = getattr(getattr(telegram, "ELECTRICITY_ACTIVE_TARIFF", None), "value", None)
    if isinstance(code, str) and code.strip().isdigit():
        low = low_tariff_code if low_tariff_code is not None else LOW_TARIFF_CODE[used]
        tariff = TariffPeriod.LOW if int(code) == low else TariffPeriod.HIGH
    reading = GridReading(
        current_a=tuple(currents),
        timestamp=time.time() if now is None else now,
        power_w=tuple(powers) or None,
        voltage_v=tuple(volts) if have_volts else None,
        tariff=tariff,
    )
    return used, reading


Opener = Callable[[], Any]  # -> awaitable (StreamReader, StreamWriter)


class P1Meter:
    """Reads the P1 port in a background task; `read()` waits for the next telegram."""

    def __init__(
        self,
        port: str,
        *,
        baudrate: int | None = None,
        version: str = "auto",
        phases: int = 3,
        low_tariff_code: int | None = None,
        timeout_s: float | None = None,
        reopen_delay_s: float = 2.0,
    ) -> None:
        if version not in VERSIONS:
            raise ValueError(f"P1 version {version!r}: one of {VERSIONS}")
        if phases not in (1, 3):
            raise ValueError("P1 phases: 1 or 3")
        self.port = port
        self.version = version
        self.phases = phases
        self.low_tariff_code = low_tariff_code
        # DSMR 2.2/3 talk 9600 7E1, DSMR 4 and up 115200 8N1
        old = version == "2.2"
        self.baudrate = baudrate or (9600 if old else 115200)
        self._serial_opts: dict[str, Any] = (
            {"bytesize": 7, "parity": "E"} if old else {"bytesize": 8, "parity": "N"}
        )
        # DSMR 4 sends every 10 s: allow a missed telegram before calling the meter lost
        self._period = 1.0 if version in ("5", "be") else 10.0
        self.timeout_s = timeout_s
        self.reopen_delay_s = reopen_delay_s
        self._next = NextReading()
        self._error: DeviceError | None = None
        self._task: asyncio.Task[None] | None = None
        self._locked_version: str | None = None  # auto: what the meter turned out to be
        self.errors = 0  # telegrams dropped (CRC, truncated, unreadable)
        self.opened = asyncio.Event()  # set while the port is open

    @property
    def period_s(self) -> float:
        return self._period

    def _timeout(self) -> float:
        return self.timeout_s if self.timeout_s is not None else 2.5 * self._period + 1.0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="p1-reader")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def latest(self) -> GridReading | None:
        r = self._next.latest
        if r is None or time.time() - r.timestamp > self._timeout():
            return None
        return r

    async def read(self) -> GridReading:
        self.start()
        return await self._next.wait(self._timeout(), f"P1 {self.port}", self._check)

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        import serial_asyncio_fast

        reader, writer = await serial_asyncio_fast.open_serial_connection(
            url=self.port, baudrate=self.baudrate, **self._serial_opts
        )
        return reader, writer

    async def _run(self) -> None:
        while True:
            try:
                reader, writer = await self._open()
            except (OSError, ValueError) as e:
                error = DeviceError(f"P1 {self.port}: cannot open: {e}")
                if str(error) != str(self._error):  # once, not every retry
                    log.warning("grid.p1.open_failed", port=self.port, error=str(e))
                self._error = error
                self._next.wake()
                await asyncio.sleep(self.reopen_delay_s)
                continue
            log.info("grid.p1.open", port=self.port, baudrate=self.baudrate)
            self._error = None
            self.opened.set()
            try:
                await self._pump(reader)
            except (OSError, asyncio.IncompleteReadError) as e:
                self._error = DeviceError(f"P1 {self.port}: {e}")
                log.warning("grid.p1.lost", port=self.port, error=str(e))
            finally:
                self.opened.clear()
                writer.close()
            self._next.wake()
            await asyncio.sleep(self.reopen_delay_s)

    async def _pump(self, reader: asyncio.StreamReader) -> None:
        buffer = TelegramBuffer()
        pending = 0
        while True:
            data = await reader.read(1024)
            if not data:
                raise OSError("port closed")
            # 7E1 ports may hand over the parity bit; telegrams are ASCII
            text = bytes(b & 0x7F for b in data).decode("ascii", errors="replace")
            buffer.append(text)
            pending += len(text)
            for raw in buffer.get_all():
                pending = 0
                self._handle(raw)
            if pending > _MAX_BUFFER:
                buffer = TelegramBuffer()  # garbage without a frame: start over
                pending = 0
                self.errors += 1
                log.warning("grid.p1.garbage", port=self.port)

    def _handle(self, raw: str) -> None:
        version = self._locked_version or self.version
        try:
            used, reading = parse_telegram(
                raw,
                version=version,
                phases=self.phases,
                low_tariff_code=self.low_tariff_code,
            )
        except P1Error as e:
            self.errors += 1
            log.warning("grid.p1.bad_telegram", port=self.port, error=str(e))
            return
        if self.version == "auto" and self._locked_version is None and used != "2.2":
            # a meter that sent a CRC once always does: a later telegram without one is corrupt
            self._locked_version = used
        if used in ("5", "be"):
            self._period = 1.0
        self._next.put(reading)
