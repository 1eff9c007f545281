"""Socket lock: a motor driven through an H-bridge (two GPIO outputs), with a feedback
switch on a GPIO input that reads "locked"."""

from __future__ import annotations

import asyncio
import time

from hal.drivers.gpio_pins import Input, Output
from ncpa.log import get_logger

log = get_logger(__name__)


class GpioSocketLock:
    """hal.lock.SocketLock. The motor runs until the feedback confirms the new position
    or `timeout` runs out (a stuck lock), and is always switched off afterwards: a motor
    left powered against its end stop burns out."""

    def __init__(
        self,
        lock_out: Output,
        unlock_out: Output,
        feedback: Input,
        timeout: float = 2.0,
        poll: float = 0.02,
    ) -> None:
        self.lock_out = lock_out
        self.unlock_out = unlock_out
        self.feedback = feedback
        self.timeout = timeout
        self.poll = poll
        self._busy = asyncio.Lock()

    async def set_locked(self, locked: bool) -> bool:
        async with self._busy:
            if await self.feedback.read() == locked:
                return True
            drive, other = (self.lock_out, self.unlock_out) if locked else (
                self.unlock_out, self.lock_out,
            )  # fmt: skip
            await other.set(False)  # never both sides of the bridge at once
            await drive.set(True)
            try:
                deadline = time.monotonic() + self.timeout
                while time.monotonic() < deadline:
                    if await self.feedback.read() == locked:
                        return True
                    await asyncio.sleep(self.poll)
                ok = await self.feedback.read() == locked
                if not ok:
                    log.warning("lock.stuck", wanted="locked" if locked else "unlocked")
                return ok
            finally:
                await drive.set(False)

    async def feedback_locked(self) -> bool:
        return await self.feedback.read()

    async def close(self) -> None:
        for dev in (self.lock_out, self.unlock_out, self.feedback):
            dev.close()
