"""An OpenEVSE controller emulated at the RAPI byte level, behind a pty."""

from __future__ import annotations

from collections.abc import Callable

from hal.drivers.rapi_frames import Frame, FrameError, decode, xor_checksum
from tests.drivers.pty_device import PtyDevice

PILOT_CODES = {"A": 1, "B": 2, "C": 3, "D": 4}


class RapiDevice(PtyDevice):
    def __init__(self, version: str = "8.2.1") -> None:
        super().__init__()
        self.version = version
        self.pilot = "A"  # what the EV does with the pilot
        self.enabled = True  # a controller boots enabled
        self.amps = 32
        self.fault = 0  # 0 or an EVSE_STATE fault code (0x06 = GFI)
        self.corrupt_next = False  # next frame sent with a wrong checksum
        self.commands: list[Frame] = []
        self._buf = b""
        self._last_state: tuple[int, int] | None = None
        # called with the relay's new position: drives the contactor's aux contact pin
        self.on_relay: Callable[[bool], None] | None = None
        self.heartbeat: tuple[int, int] | None = None  # ($SY interval, current limit)
        self.heartbeat_missed = False
        self._relay = False

    @property
    def evse_state(self) -> int:
        if self.fault:
            return self.fault
        if not self.enabled:
            return 0xFE
        return PILOT_CODES[self.pilot]

    @property
    def relay_closed(self) -> bool:
        return self.evse_state in (3, 4)

    def send(self, body: str) -> None:
        ck = xor_checksum(body)
        if self.corrupt_next:
            ck ^= 0x55
            self.corrupt_next = False
        self.inject(f"{body}^{ck:02X}\r".encode())

    def set_pilot(self, pilot: str) -> None:
        self.pilot = pilot
        self.notify()

    def set_fault(self, code: int) -> None:
        self.fault = code
        self.notify()

    def notify(self) -> None:
        if self.relay_closed != self._relay:
            self._relay = self.relay_closed
            if self.on_relay is not None:
                self.on_relay(self._relay)
        state = (self.evse_state, PILOT_CODES[self.pilot])
        if state != self._last_state:
            self._last_state = state
            self.send(f"$AT {state[0]:02X} {state[1]:02X} {self.amps} 0000")

    def on_bytes(self, data: bytes) -> None:
        self._buf += data
        while b"\r" in self._buf:
            line, _, self._buf = self._buf.partition(b"\r")
            try:
                frame = decode(line)
            except FrameError:
                self.send("$NK")  # what the firmware does with a garbled command
                continue
            self.commands.append(frame)
            self.handle(frame)

    def reply(self, frame: Frame, ok: bool, *args: str) -> None:
        parts = ["$OK" if ok else "$NK", *args]
        if frame.seq is not None:
            parts.append(f":{frame.seq:02X}")
        self.send(" ".join(parts))

    def handle(self, f: Frame) -> None:
        if f.kind == "GS":
            self.reply(
                f, True, f"{self.evse_state:02X}", "0", f"{PILOT_CODES[self.pilot]:02X}", "0000"
            )
        elif f.kind == "GV":
            self.reply(f, True, self.version, "5.2.1")
        elif f.kind == "SC":
            asked = int(f.args[0])
            self.amps = max(6, min(32, asked))
            self.reply(f, self.amps == asked, str(self.amps))
            self.notify()
        elif f.kind == "FE":
            self.enabled = True
            self.reply(f, True)
            self.notify()
        elif f.kind == "FS":
            self.enabled = False
            self.reply(f, True)
            self.notify()
        elif f.kind == "SY":
            self.heartbeat_command(f)
        else:
            self.reply(f, False)

    def heartbeat_command(self, f: Frame) -> None:
        if len(f.args) == 2:
            self.heartbeat = (int(f.args[0]), int(f.args[1]))
            self.reply(f, True, *f.args, "0")
        elif f.args == ("165",):
            self.heartbeat_missed = False
            self.reply(f, True)
        else:  # a pulse: $NK while a missed pulse is not acknowledged
            self.reply(f, not self.heartbeat_missed)
