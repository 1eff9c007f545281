"""RFID readers emulated at the byte level behind a pty: a PN532 (HSU) and an RDM6300."""

from __future__ import annotations

from hal.drivers.pn532_reader import (
    ACK,
    IN_LIST_PASSIVE_TARGET,
    PN532_TO_HOST,
    build_frame,
    parse_frames,
)
from tests.drivers.pty_device import PtyDevice


class Pn532Device(PtyDevice):
    """Answers SAMConfiguration, GetFirmwareVersion, RFConfiguration, InListPassiveTarget.
    `card` is the UID (bytes) in the field, or None."""

    def __init__(self) -> None:
        super().__init__()
        self.card: bytes | None = None
        self.awake = False
        self.corrupt_next = False  # next answer with a wrong data checksum
        self.polls = 0
        self.commands: list[int] = []
        self._buf = bytearray()

    def on_bytes(self, data: bytes) -> None:
        self._buf += data
        if not self.awake and b"\x55\x55" in self._buf:
            self.awake = True
        for frame in parse_frames(self._buf):
            if frame.kind != "data" or not self.awake:
                continue  # host ACKs (aborts) and anything sent before the wake-up
            command, params = frame.data[1], frame.data[2:]
            self.commands.append(command)
            self.inject(ACK)
            self.answer(command, params)

    def answer(self, command: int, params: bytes) -> None:
        if command == 0x02:
            out = bytes([0x32, 0x01, 0x06, 0x07])  # PN532 v1.6
        elif command == IN_LIST_PASSIVE_TARGET:
            self.polls += 1
            if self.card is None:
                out = bytes([0x00])
            else:
                out = bytes([0x01, 0x01, 0x00, 0x04, 0x08, len(self.card)]) + self.card
        else:
            out = b""  # SAMConfiguration, RFConfiguration: empty answers
        frame = bytearray(build_frame(PN532_TO_HOST, command + 1, out))
        if self.corrupt_next:
            frame[-2] ^= 0x5A
            self.corrupt_next = False
        self.inject(bytes(frame))


def rdm6300_frame(tag: bytes, corrupt: bool = False) -> bytes:
    x = 0
    for b in tag:
        x ^= b
    if corrupt:
        x ^= 0x01
    return b"\x02" + tag.hex().upper().encode() + f"{x:02X}".encode() + b"\x03"


class Rdm6300Device(PtyDevice):
    """Sends frames only when told (the real one repeats them while a card is near)."""

    def on_bytes(self, data: bytes) -> None:
        pass  # the RDM6300 has no input

    def present(self, tag: bytes, times: int = 1, corrupt: bool = False) -> None:
        self.inject(rdm6300_frame(tag, corrupt) * times)
