"""NXP PN532 on its UART (HSU) interface, 115200 baud, polling for ISO 14443A cards.

Frames: `00 00 FF LEN LCS TFI PD... DCS 00`, LEN counting TFI and data, LCS making
LEN + LCS = 0, DCS making TFI + data + DCS = 0 (mod 256); TFI D4 host to PN532, D5
back. Each command is acknowledged by `00 00 FF 00 FF 00` before its answer.
Start-up: wake-up preamble (0x55 and zeros, the chip sleeps in HSU mode) then
SAMConfiguration (normal mode), GetFirmwareVersion, and RFConfiguration limiting the
passive-activation retries so that InListPassiveTarget answers "no card" instead of
waiting forever. Then InListPassiveTarget (106 kbps type A) every `poll_interval`.
The idTag is the NFCID1 (4, 7 or 10 bytes), upper-case hex.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from hal.drivers.card_reader import SerialCardReader
from hal.errors import DeviceError, DeviceTimeout
from ncpa.log import get_logger

log = get_logger(__name__)

HOST_TO_PN532, PN532_TO_HOST = 0xD4, 0xD5
ACK = bytes([0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00])
NACK = bytes([0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00])
WAKEUP = bytes([0x55, 0x55]) + bytes(14)
GET_FIRMWARE_VERSION = 0x02
SAM_CONFIGURATION = 0x14
RF_CONFIGURATION = 0x32
IN_LIST_PASSIVE_TARGET = 0x4A


def build_frame(tfi: int, command: int, params: bytes = b"") -> bytes:
    data = bytes([tfi, command]) + params
    length = len(data)
    return (
        bytes([0x00, 0x00, 0xFF, length, (-length) & 0xFF])
        + data
        + bytes([(-sum(data)) & 0xFF, 0x00])
    )


@dataclass(frozen=True, slots=True)
class Pn532Frame:
    kind: str  # "ack", "nack", "error" (PN532 application error frame), "data", "bad"
    data: bytes = b""  # TFI + command + params, for "data"


def parse_frames(buf: bytearray) -> list[Pn532Frame]:
    """Take complete frames out of `buf` (in place). Noise before a start code is dropped;
    a frame whose data checksum is wrong comes out as kind "bad"."""
    out: list[Pn532Frame] = []
    while True:
        start = buf.find(b"\x00\xff")
        if start < 0:
            del buf[: max(0, len(buf) - 1)]  # keep a trailing 00 that may start a code
            return out
        del buf[:start]
        if len(buf) < 4:
            return out
        length, lcs = buf[2], buf[3]
        if (length, lcs) == (0x00, 0xFF):
            out.append(Pn532Frame("ack"))
            del buf[:4]
            continue
        if (length, lcs) == (0xFF, 0x00):
            out.append(Pn532Frame("nack"))
            del buf[:4]
            continue
        if (length + lcs) & 0xFF:
            del buf[:2]  # noise that looked like a start code: look further
            continue
        if len(buf) < 4 + length + 1:
            return out
        data = bytes(buf[4 : 4 + length])
        dcs = buf[4 + length]
        del buf[: 4 + length + 1]
        if (sum(data) + dcs) & 0xFF:
            out.append(Pn532Frame("bad"))
        elif length == 1 and data[0] == 0x7F:
            out.append(Pn532Frame("error"))
        else:
            out.append(Pn532Frame("data", data))


def uid_from_target(data: bytes) -> str | None:
    """InListPassiveTarget answer (D5 4B NbTg ...) -> the first target's NFCID1."""
    if len(data) < 3 or data[0] != PN532_TO_HOST or data[1] != IN_LIST_PASSIVE_TARGET + 1:
        raise DeviceError(f"unexpected answer {data.hex()}")
    if data[2] == 0:
        return None
    # Tg(1) SENS_RES(2) SEL_RES(1) NFCIDLength(1) NFCID1(n)
    if len(data) < 8:
        raise DeviceError(f"short target data {data.hex()}")
    n = data[7]
    uid = data[8 : 8 + n]
    if n not in (4, 7, 10) or len(uid) != n:
        raise DeviceError(f"bad NFCID1 length {n} in {data.hex()}")
    return uid.hex().upper()


class Pn532Reader(SerialCardReader):
    kind = "pn532"

    def __init__(
        self,
        port: str,
        baudrate: int = 115200,
        release: float = 1.0,
        poll_interval: float = 0.2,
        answer_timeout: float = 1.0,
        max_failures: int = 3,
    ) -> None:
        super().__init__(port, baudrate, release)
        self.poll_interval = poll_interval
        self.answer_timeout = answer_timeout
        self.max_failures = max_failures
        self._buf = bytearray()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._buf.clear()
        writer.write(WAKEUP)
        await self._command(reader, writer, SAM_CONFIGURATION, bytes([0x01, 0x14, 0x00]))
        fw = await self._command(reader, writer, GET_FIRMWARE_VERSION)
        if len(fw) >= 6:
            self.version = f"PN5{fw[2]:02X} v{fw[3]}.{fw[4]}"
        # MxRtyATR, MxRtyPSL, MxRtyPassiveActivation: give up after 2 tries, no endless wait
        await self._command(reader, writer, RF_CONFIGURATION, bytes([0x05, 0xFF, 0x01, 0x02]))
        self.healthy = True
        log.info("pn532.ready", port=self.port, version=self.version)
        failures = 0
        while not self.closing:
            try:
                answer = await self._command(
                    reader, writer, IN_LIST_PASSIVE_TARGET, bytes([0x01, 0x00])
                )
                uid = uid_from_target(answer)
                failures = 0
                self.healthy = True
                if uid:
                    self._detected(uid)
            except DeviceError as e:
                failures += 1
                log.debug("pn532.poll_failed", port=self.port, error=str(e), failures=failures)
                if failures >= self.max_failures:
                    raise
                self.healthy = False
                writer.write(ACK)  # aborts a command the PN532 may still be running
            await asyncio.sleep(self.poll_interval)

    async def _command(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        command: int,
        params: bytes = b"",
    ) -> bytes:
        self._buf.clear()
        writer.write(build_frame(HOST_TO_PN532, command, params))
        acked = False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.answer_timeout
        while True:
            for frame in parse_frames(self._buf):
                if frame.kind == "ack":
                    acked = True
                elif frame.kind == "data" and acked:
                    if frame.data[:2] != bytes([PN532_TO_HOST, command + 1]):
                        raise DeviceError(f"pn532: answer {frame.data.hex()} to {command:#04x}")
                    return frame.data
                elif frame.kind in ("bad", "nack", "error"):
                    raise DeviceError(f"pn532: {frame.kind} frame answering {command:#04x}")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise DeviceTimeout(f"pn532 {self.port}: no answer to {command:#04x}")
            try:
                async with asyncio.timeout(remaining):
                    chunk = await reader.read(256)
            except TimeoutError:
                continue
            if not chunk:
                raise DeviceError(f"pn532 {self.port}: port closed")
            self._buf += chunk
