"""Whether the wall clock can be trusted, and the time to stamp with.

A Raspberry Pi has no RTC: until NTP has synchronized the clock, it shows the time saved
at the last shutdown (fake-hwclock) or 1970. Transactions, token checks and TLS depend on
it. So, at start, the daemon waits (bounded: `[clock] wait_for_sync`) for the system
clock to be synchronized; when that does not happen, the CSMS's time (BootNotification's
currentTime, the OCPP client calls `offer_csms_time`) is the source, kept as an offset;
what was stamped while neither was there is marked (transactions: `clock_untrusted`).

```toml
[clock]
wait_for_sync = 20    # seconds to wait at start for a synchronized clock (0: do not wait)
sync_source = "auto"  # auto: systemd-timesyncd's flag file, else the kernel's NTP state;
                      # "system": trust the clock as it is (a board with an RTC);
                      # "none": never synchronized (CSMS time only); a path: that file
                      # exists once the clock is synchronized (e.g. written by chrony's hook)
csms_time = true      # use BootNotification's currentTime while not synchronized
```

The process-wide instance (`CLOCK`, and the module functions `now`, `trusted`,
`offer_csms_time`) is configured once by the daemon (`configure`).
"""

from __future__ import annotations

import asyncio
import ctypes
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ncpa.config import Config, ConfigError
from ncpa.log import get_logger

log = get_logger(__name__)

SECTION = "clock"
TIMESYNCD_FLAG = Path("/run/systemd/timesync/synchronized")
TIME_ERROR = 5  # adjtimex(2): the clock is not synchronized
TIMEX_SIZE = 512  # more than sizeof(struct timex) on every Linux ABI


@dataclass(frozen=True)
class ClockSettings:
    wait_for_sync: float = 20.0
    sync_source: str = "auto"
    csms_time: bool = True


def parse_settings(cfg: Config) -> ClockSettings:
    raw = cfg.raw.get(SECTION, {})
    if not isinstance(raw, dict):
        raise ConfigError(f"[{SECTION}] must be a table")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "wait_for_sync":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{SECTION}.wait_for_sync: expected seconds, got {value!r}")
            if not 0 <= value <= 600:
                raise ConfigError(f"{SECTION}.wait_for_sync: 0..600 seconds")
            values[key] = float(value)
        elif key == "sync_source":
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{SECTION}.sync_source: auto, system, none or a file path")
            if value not in ("auto", "system", "none") and not value.startswith("/"):
                raise ConfigError(f"{SECTION}.sync_source: a file path must be absolute")
            values[key] = value
        elif key == "csms_time":
            if not isinstance(value, bool):
                raise ConfigError(f"{SECTION}.csms_time: expected true or false")
            values[key] = value
        else:
            raise ConfigError(f"{SECTION}.{key}: unknown setting")
    return ClockSettings(**values)


_libc: Any = None


def kernel_synchronized() -> bool | None:
    """The kernel's NTP state (adjtimex with no change); None when it cannot be read
    (a seccomp filter, another libc)."""
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None, use_errno=True)  # the process's own libc
        libc = _libc
        buf = ctypes.create_string_buffer(TIMEX_SIZE)  # modes = 0: read only
        state = int(libc.adjtimex(buf))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != TIME_ERROR


def sync_check(source: str) -> Callable[[], bool]:
    """A function that says whether the system clock is synchronized now."""
    if source == "system":
        return lambda: True
    if source == "none":
        return lambda: False
    if source != "auto":
        flag = Path(source)
        return flag.exists

    def auto() -> bool:
        if TIMESYNCD_FLAG.exists():
            return True
        return bool(kernel_synchronized())

    return auto


class Clock:
    def __init__(
        self,
        synchronized: Callable[[], bool] = lambda: True,
        wall: Callable[[], float] = time.time,
        use_csms_time: bool = True,
    ) -> None:
        self._synchronized = synchronized
        self._wall = wall
        self.use_csms_time = use_csms_time
        self.source = ""  # "system" (synchronized) | "csms" | "" (not trusted)
        self.offset = 0.0  # added to the system clock when the CSMS is the source
        self.refresh()

    def refresh(self) -> bool:
        """Check the system clock again; a synchronized system clock wins over the CSMS."""
        if self.source != "system" and self._synchronized():
            if self.source == "csms":
                log.info("clock.synchronized", previous="csms", offset_s=round(self.offset, 3))
            self.source, self.offset = "system", 0.0
        return self.source != ""

    def trusted(self) -> bool:
        return self.refresh()

    def now(self) -> float:
        """Epoch seconds to stamp with: the system clock, corrected by the CSMS's offset
        while that is the only source."""
        self.refresh()
        return self._wall() + self.offset

    def offer_csms_time(self, when: float | dt.datetime | None) -> None:
        """The CSMS's current time (BootNotification answer): taken when the system clock
        is not synchronized."""
        self.refresh()
        if when is None or not self.use_csms_time or self.source == "system":
            return
        epoch = when.timestamp() if isinstance(when, dt.datetime) else float(when)
        first = self.source != "csms"
        self.source, self.offset = "csms", epoch - self._wall()
        if first:
            log.warning("clock.from_csms", offset_s=round(self.offset, 3))

    async def wait_for_sync(self, timeout: float, poll: float = 0.5) -> bool:
        """Wait up to `timeout` seconds for a synchronized system clock."""
        if self.refresh() or timeout <= 0:
            return self.source != ""
        log.info("clock.waiting", timeout_s=timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            await asyncio.sleep(min(poll, max(0.0, deadline - loop.time())))
            if self.refresh():
                log.info(
                    "clock.synchronized", waited_s=round(timeout - (deadline - loop.time()), 1)
                )
                return True
        log.warning("clock.untrusted", waited_s=timeout, csms_time=self.use_csms_time)
        return False


CLOCK = Clock()


def configure(settings: ClockSettings) -> Clock:
    """Point the process-wide clock at the configured source (the daemon, at start)."""
    global CLOCK
    CLOCK = Clock(sync_check(settings.sync_source), use_csms_time=settings.csms_time)
    return CLOCK


def now() -> float:
    return CLOCK.now()


def trusted() -> bool:
    return CLOCK.trusted()


def offer_csms_time(when: float | dt.datetime | None) -> None:
    CLOCK.offer_csms_time(when)
