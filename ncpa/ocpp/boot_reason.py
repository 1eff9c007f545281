"""Why the agent started: the reason its first BootNotification gives (2.0.1 BootReason;
1.6 has no field for it and sends none).

A restart the agent makes itself is noted before it happens (`expect`): RemoteReset,
ScheduledReset (a Reset from the CSMS, OnIdle once the transactions ended), LocalReset
(the local API's POST /config/reboot). Otherwise the reason is read from what the
previous run left in the store (`at_start`), in this order:

- another firmware version than the previous run's: FirmwareUpdate;
- no clean stop within the same kernel boot: the process died and was started again
  without a power cycle. When systemd watched the previous run (WATCHDOG_USEC), its
  watchdog killed it (a hung event loop stops the pings): Watchdog; else it crashed
  and systemd's Restart= brought it back: ApplicationReset;
- anything else (first start, a power cut, a clean stop then a boot): PowerUp.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ncpa.store import Store

EXPLICIT_KEY = "ocpp.boot_reason"  # the reason noted before a restart the agent made
RUN_KEY = "ocpp.last_run"  # what this run is: {clean, boot_id, watched, firmware}
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")

# what `expect` may note (the 2.0.1 BootReasonEnumType values a restart of ours can have)
EXPECTABLE = frozenset(
    {"ApplicationReset", "FirmwareUpdate", "LocalReset", "RemoteReset", "ScheduledReset"}
)


def kernel_boot_id(path: Path = BOOT_ID) -> str:
    """The kernel's id of this boot ("" where there is none): it changes at each power-up."""
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def decide(explicit: Any, last: Any, firmware: str, boot_id: str) -> str:
    """The boot reason from the noted reason and the previous run's record."""
    if not isinstance(last, dict):
        return explicit if explicit in EXPECTABLE else "PowerUp"
    if last.get("firmware") not in (None, firmware):
        return "FirmwareUpdate"
    if explicit in EXPECTABLE:
        return str(explicit)
    same_boot = bool(boot_id) and last.get("boot_id") == boot_id
    if not last.get("clean") and same_boot:
        return "Watchdog" if last.get("watched") else "ApplicationReset"
    return "PowerUp"


@dataclass
class BootReasons:
    store: Store
    firmware: str
    watched: bool  # systemd's watchdog expects pings from this run
    boot_id: str

    async def at_start(self) -> str:
        """This start's reason; from now on this run counts as not cleanly stopped."""
        explicit = await self.store.get_setting(EXPLICIT_KEY)
        last = await self.store.get_setting(RUN_KEY)
        reason = decide(explicit, last, self.firmware, self.boot_id)
        await self.store.set_setting(EXPLICIT_KEY, "")
        await self._record(clean=False)
        return reason

    async def expect(self, reason: str) -> None:
        """The next start's reason (a restart of ours is coming)."""
        if reason not in EXPECTABLE:
            raise ValueError(f"not a restart reason: {reason}")
        await self.store.set_setting(EXPLICIT_KEY, reason)

    async def at_stop(self) -> None:
        """A clean stop: the next start is no watchdog restart."""
        await self._record(clean=True)

    async def _record(self, clean: bool) -> None:
        await self.store.set_setting(
            RUN_KEY,
            {
                "clean": clean,
                "boot_id": self.boot_id,
                "watched": self.watched,
                "firmware": self.firmware,
            },
        )
