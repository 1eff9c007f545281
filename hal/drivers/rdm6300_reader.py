"""RDM6300 125 kHz (EM4100) reader on a serial port, 9600 baud.

It sends, unasked, `STX` + 10 ASCII hex digits (version byte + 4-byte tag id) + 2 ASCII
hex digits of checksum (XOR of the 5 data bytes) + `ETX` for each read of a card in
its field, again and again while the card stays there. The idTag is the 10 hex digits,
upper case. The reader never speaks without a card, so a dead link cannot be told from
an empty field; `hw-check` asks for a card to prove it.
"""

from __future__ import annotations

import asyncio

from hal.drivers.card_reader import SerialCardReader
from ncpa.log import get_logger

log = get_logger(__name__)

STX, ETX = 0x02, 0x03
FRAME_LEN = 14


def parse_frames(buf: bytearray) -> list[str]:
    """Take the complete frames out of `buf` (in place); return their valid UIDs."""
    uids: list[str] = []
    while True:
        start = buf.find(STX)
        if start < 0:
            buf.clear()  # noise only
            return uids
        del buf[:start]
        if len(buf) < FRAME_LEN:
            return uids
        frame = bytes(buf[:FRAME_LEN])
        if frame[-1] != ETX:
            del buf[:1]  # a stray STX in noise: resync on the next one
            continue
        del buf[:FRAME_LEN]
        try:
            data = bytes.fromhex(frame[1:11].decode("ascii"))
            check = int(frame[11:13].decode("ascii"), 16)
        except ValueError:
            log.warning("rdm6300.bad_frame", frame=frame.hex())
            continue
        x = 0
        for b in data:
            x ^= b
        if x != check:
            log.warning("rdm6300.bad_checksum", frame=frame.hex())
            continue
        uids.append(data.hex().upper())


class Rdm6300Reader(SerialCardReader):
    kind = "rdm6300"

    def __init__(self, port: str, baudrate: int = 9600, release: float = 1.0) -> None:
        super().__init__(port, baudrate, release)

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.healthy = True  # the port is open; the reader has nothing to say without a card
        buf = bytearray()
        while not self.closing:
            chunk = await reader.read(256)
            if not chunk:
                return  # port closed
            buf += chunk
            for uid in parse_frames(buf):
                self._detected(uid)
