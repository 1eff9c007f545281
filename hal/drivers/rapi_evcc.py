"""EV charge controller over a serial line speaking OpenEVSE RAPI.

The controller board generates the control pilot, measures it and switches its own
relay: it opens the relay by itself the moment the pilot leaves state C/D or a fault
(GFI, stuck relay, no ground, over temperature) trips, without waiting for Linux.
This driver only tells it what to offer: `$SC <amps> V` (volatile, spares the EEPROM)
and `$FE` to offer, `$FS` (sleep: PWM off, relay open) to offer nothing.

The driver polls `$GS` every `poll_interval` and listens for the asynchronous `$AT` /
`$ST` state messages; no valid frame for `link_timeout` seconds is EvccFault.LINK_LOST.
After a link loss or a controller reboot (`$AB`) the wanted offer is sent again, since
a rebooted controller comes up enabled at its stored current.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator

from hal.drivers.broadcast import Broadcast
from hal.drivers.rapi_frames import Frame, FrameError, decode, encode
from hal.drivers.serial_port import close_writer, open_serial, reopen_serial
from hal.errors import DeviceError, DeviceTimeout
from hal.evcc import MIN_OFFER_A, EvccFault, EvccStatus, PilotState
from hal.inputs import DigitalInput
from ncpa.log import get_logger

log = get_logger(__name__)

PILOT_CODES = {1: PilotState.A, 2: PilotState.B, 3: PilotState.C, 4: PilotState.D}
STATE_FAULTS = {
    0x05: EvccFault.DIODE,  # diode check failed
    0x06: EvccFault.RCD,  # GFI (residual current) tripped
    0x07: EvccFault.OTHER,  # no ground
    0x08: EvccFault.OTHER,  # stuck relay (welded contact)
    0x09: EvccFault.RCD,  # GFI self-test failed
    0x0A: EvccFault.OTHER,  # over temperature
    0x0B: EvccFault.OTHER,  # over current
}
STATE_NAMES = {
    0x00: "unknown", 0x01: "A", 0x02: "B", 0x03: "C (charging)", 0x04: "D (vent)",
    0x05: "diode check failed", 0x06: "GFI fault", 0x07: "no ground", 0x08: "stuck relay",
    0x09: "GFI self-test failed", 0x0A: "over temperature", 0x0B: "over current",
    0xFE: "sleeping", 0xFF: "disabled",
}  # fmt: skip
STUCK_RELAY = 0x08
RELAY_CLOSED_STATES = (0x03, 0x04)
ASYNC_KINDS = ("AT", "ST", "AB", "AN", "WF")


class RapiController:
    """hal.evcc.ChargeController over RAPI. Call `start()` once, `close()` at the end."""

    def __init__(
        self,
        port: str,
        baudrate: int = 115200,
        poll_interval: float = 1.0,
        link_timeout: float = 3.0,
        command_timeout: float = 0.5,
        heartbeat_interval: int = 0,
        heartbeat_current: int = 6,
    ) -> None:
        self.port = port
        # RAPI heartbeat supervision ($SY): when the agent stops pulsing (hung, crashed),
        # the controller itself limits the current to heartbeat_current. 0: off.
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_current = heartbeat_current
        self._heartbeat_armed = False
        self.baudrate = baudrate
        self.poll_interval = poll_interval
        self.link_timeout = link_timeout
        self.command_timeout = command_timeout
        self._writer: asyncio.StreamWriter | None = None
        self._cmd_lock = asyncio.Lock()
        self._pending: asyncio.Future[Frame] | None = None
        self._seq = 0
        self._pending_seq = 0
        self._link_event = asyncio.Event()
        self._last_heard = 0.0
        self._link_up = False
        self._evse_state = 0
        self._pilot: PilotState = PilotState.A
        self._faults: frozenset[EvccFault] = frozenset()
        self._status: Broadcast[EvccStatus] = Broadcast(replay=True)
        self._wanted_amps = 0.0
        self._relay_allowed = True
        self._reapply = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False  # loops end on this even if a cancellation got lost
        self._status.publish(EvccStatus(PilotState.A, frozenset({EvccFault.LINK_LOST})))

    # -- hal.evcc.ChargeController -------------------------------------------------
    def status_updates(self) -> AsyncIterator[EvccStatus]:
        return self._status.subscribe()

    async def set_offered_current(self, amps: float) -> None:
        if not math.isfinite(amps) or amps < 0:
            raise ValueError(f"offered current must be >= 0 A, got {amps}")
        self._wanted_amps = amps
        if amps >= MIN_OFFER_A:
            self._relay_allowed = True  # a new offer is a new decision of the core
        await self._apply()

    async def firmware_version(self) -> str:
        frame = await self.command("GV")
        return frame.args[0] if frame.args else "unknown"

    # -- used by RapiRelay (the controller's relay seen as the contactor) ----------
    async def allow_relay(self, allowed: bool) -> None:
        if (
            not allowed
            and self._pilot not in (PilotState.C, PilotState.D)
            and not self.relay_closed
        ):
            # the EV stopped asking (a pause): the controller has opened its relay itself.
            # Keep the PWM offer, or the EV could never ask again (it waits for PWM).
            return
        self._relay_allowed = allowed
        await self._apply()

    @property
    def relay_closed(self) -> bool:
        """What the controller reports: relay closed while charging, or stuck closed."""
        return self._link_up and (
            self._evse_state in RELAY_CLOSED_STATES or self._evse_state == STUCK_RELAY
        )

    @property
    def state_name(self) -> str:
        return STATE_NAMES.get(self._evse_state, f"{self._evse_state:#04x}")

    # -- life cycle ----------------------------------------------------------------
    async def start(self) -> None:
        # fail at start with a clear error when the port does not exist at all
        reader, writer = await open_serial(self.port, self.baudrate)
        self._task = asyncio.create_task(self._run(reader, writer), name=f"rapi {self.port}")
        # give the first poll a chance, so that the first status is the real one
        try:
            async with asyncio.timeout(self.link_timeout):
                await self._link_event.wait()
        except TimeoutError:
            log.warning("rapi.no_answer_at_start", port=self.port)

    async def close(self) -> None:
        self._closing = True
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await close_writer(self._writer)
        self._writer = None

    async def command(self, cmd: str, *args: str) -> Frame:
        """Send one command and wait for its $OK; $NK or no answer raise DeviceError."""
        frame = await self._exchange(cmd, *args)
        if frame.kind != "OK":
            raise DeviceError(f"rapi {self.port}: ${cmd} refused ({' '.join(frame.args)})")
        return frame

    async def _exchange(self, cmd: str, *args: str) -> Frame:
        async with self._cmd_lock:
            writer = self._writer
            if writer is None:
                raise DeviceTimeout(f"rapi {self.port}: serial port not open")
            self._seq = self._seq % 0xFE + 1  # 1..FF; 00 is reserved by RAPI
            seq = self._seq
            fut: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
            self._pending = fut
            self._pending_seq = seq
            try:
                writer.write(encode(cmd, *args, seq=seq))
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
                # that arrives together with the answer, and the poll loop would never end
                async with asyncio.timeout(self.command_timeout):
                    return await fut
            except TimeoutError as e:
                raise DeviceTimeout(f"rapi {self.port}: no answer to ${cmd}") from e
            except OSError as e:
                raise DeviceError(f"rapi {self.port}: write failed: {e}") from e
            finally:
                self._pending = None

    # -- internals -----------------------------------------------------------------
    async def _run(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Keep the link: read, poll, and reopen the port when it goes away."""
        while not self._closing:
            self._writer = writer
            tasks = [
                asyncio.create_task(self._read_loop(reader)),
                asyncio.create_task(self._poll_loop()),
            ]
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for t in done:
                    if t.exception():
                        log.warning("rapi.link_error", port=self.port, error=str(t.exception()))
            finally:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            self._writer = None
            await close_writer(writer)
            self._set_link(False)
            again = await reopen_serial(self.port, self.baudrate, 1.0, lambda: self._closing)
            if again is None:
                return
            reader, writer = again

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        while not self._closing:
            try:
                raw = await reader.readuntil(b"\r")
            except asyncio.LimitOverrunError as e:
                await reader.readexactly(e.consumed)  # a flood of noise without '\r': drop it
                continue
            except asyncio.IncompleteReadError:
                return  # port closed
            try:
                frame = decode(raw.rstrip(b"\r\n"))
            except FrameError as e:
                log.warning("rapi.bad_frame", port=self.port, error=str(e))
                continue
            self._heard()
            self._on_frame(frame)

    def _on_frame(self, frame: Frame) -> None:
        if frame.kind in ("OK", "NK"):
            fut = self._pending
            stale = frame.seq is not None and frame.seq != self._pending_seq
            if fut is not None and not fut.done() and not stale:
                fut.set_result(frame)
            return
        if frame.kind == "AT" and len(frame.args) >= 2:
            self._on_state(_hex(frame.args[0]), _hex(frame.args[1]))
        elif frame.kind == "ST" and frame.args:
            self._on_state(_hex(frame.args[0]), None)
        elif frame.kind == "AB":
            log.warning("rapi.controller_rebooted", port=self.port, args=" ".join(frame.args))
            self._heartbeat_armed = False
            self._reapply.set()

    async def _poll_loop(self) -> None:
        self._reapply.set()  # first contact: make the controller offer what we want
        while not self._closing:
            try:
                frame = await self.command("GS")
                evse = _hex(frame.args[0]) if frame.args else None
                pilot = _hex(frame.args[2]) if len(frame.args) >= 3 else None
                if evse is not None:
                    self._on_state(evse, pilot)
                if self._reapply.is_set():
                    self._reapply.clear()
                    try:
                        await self._apply()
                    except DeviceError:
                        self._reapply.set()  # not applied: try again at the next poll
                        raise
                elif not self._should_offer() and self._evse_state in RELAY_CLOSED_STATES:
                    log.warning("rapi.offering_unasked", port=self.port, state=self.state_name)
                    await self._apply()
                if self.heartbeat_interval:
                    await self._heartbeat()
            except DeviceError as e:
                log.debug("rapi.poll_failed", port=self.port, error=str(e))
            if time.monotonic() - self._last_heard > self.link_timeout:
                self._set_link(False)
            await asyncio.sleep(self.poll_interval)

    async def _heartbeat(self) -> None:
        if not self._heartbeat_armed:
            await self.command("SY", str(self.heartbeat_interval), str(self.heartbeat_current))
            self._heartbeat_armed = True
        if (await self._exchange("SY")).kind == "NK":
            # a pulse was missed (we hung): the controller has limited the current.
            # Acknowledge (165 is RAPI's magic cookie), then offer what we want again.
            log.warning("rapi.heartbeat_missed", port=self.port)
            await self.command("SY", "165")
            self._reapply.set()

    def _should_offer(self) -> bool:
        return self._relay_allowed and self._wanted_amps >= MIN_OFFER_A

    async def _apply(self) -> None:
        if not self._link_up and self._writer is None:
            raise DeviceTimeout(f"rapi {self.port}: controller not reachable")
        if self._should_offer():
            amps = math.floor(self._wanted_amps)  # never offer more than asked
            frame = await self._exchange("SC", str(amps), "V")
            if frame.kind == "NK":
                # the controller clamped the value to its own min/max: that is its answer
                log.warning("rapi.current_clamped", port=self.port, asked=amps, got=frame.args)
            await self.command("FE")
        else:
            await self.command("FS")

    def _heard(self) -> None:
        self._last_heard = time.monotonic()
        if not self._link_up:
            self._set_link(True)

    def _set_link(self, up: bool) -> None:
        if up == self._link_up:
            return
        self._link_up = up
        if up:
            log.info("rapi.link_up", port=self.port)
            self._reapply.set()
            self._link_event.set()
        else:
            self._link_event.clear()
            self._heartbeat_armed = False  # the controller may come back rebooted
            log.warning("rapi.link_lost", port=self.port)
        self._publish()

    def _on_state(self, evse: int | None, pilot_code: int | None) -> None:
        if evse is None:
            return
        self._evse_state = evse
        fault = STATE_FAULTS.get(evse)
        self._faults = frozenset({fault}) if fault else frozenset()
        code = pilot_code if pilot_code in PILOT_CODES else evse
        if code in PILOT_CODES:
            self._pilot = PILOT_CODES[code]
        elif evse == 0xFF or fault is not None:
            self._pilot = PilotState.F  # disabled or faulted: the controller holds -12 V
        self._publish()

    def _publish(self) -> None:
        faults = set(self._faults)
        if not self._link_up:
            faults.add(EvccFault.LINK_LOST)
        status = EvccStatus(self._pilot, frozenset(faults))
        if status != self._status.latest:
            log.info("rapi.status", port=self.port, pilot=status.pilot, faults=sorted(faults))
            self._status.publish(status)


def _hex(text: str) -> int | None:
    try:
        return int(text, 16)
    except ValueError:
        return None


class RapiRelay:
    """hal.contactor.Contactor for the relay that the RAPI controller switches itself.

    Opening while the EV asks for energy is immediate (`$FS`: PWM off, relay open; the
    next offer of the core enables it again). Opening after the EV stopped asking (state
    B, a pause) changes nothing: the controller has opened already and keeps the PWM, so
    the EV can resume. Closing only allows the controller to close when the EV asks
    (state C/D) while current is offered. Feedback is the controller's own view
    (relay on while charging, or its stuck-relay fault), unless an auxiliary contact
    is wired to a GPIO input (`feedback`).
    """

    def __init__(self, controller: RapiController, feedback: DigitalInput | None = None) -> None:
        self.controller = controller
        self._feedback = feedback

    async def set_closed(self, closed: bool) -> None:
        await self.controller.allow_relay(closed)

    async def feedback_closed(self) -> bool:
        if self._feedback is not None:
            return await self._feedback.read()
        return self.controller.relay_closed
