"""Which local limit holds a connector below what the CSMS's profiles allow, and telling the
CSMS when that changes (2.0.1 NotifyChargingLimit / ClearedChargingLimit, K12).

A local source (grid, installer, schedule, tariff, the charging mode, home automation, a
pause: ncpa/energy/limits.py) constrains a connector when it is the effective limit and
lower than every other source (the `csms` profiles, the hardware). The CSMS hears about a
change of the constraining source, and of its value only when that moves by more than
LimitChangeSignificance percent of the value told: the grid limit moves with each
measurement. A connector's messages are at least `hold` seconds apart (the newest
state goes out when the hold is over), so a limit that flips between two sources cannot
flood the connection. Offline nothing is sent; a new session hears the current state.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable

from ncpa.energy.limits import (
    EXTERNAL,
    GRID,
    INSTALLER,
    MODE,
    PAUSE,
    SCHEDULE,
    TARIFF,
    CurrentLimits,
    Limit,
)
from ncpa.log import get_logger

log = get_logger(__name__)

# local source -> 2.0.1 ChargingLimitSourceEnumType: the household energy management is
# an EMS; a fixed cap of the installer or a pause is none of the named ones
LOCAL: dict[str, str] = {
    GRID: "EMS",
    SCHEDULE: "EMS",
    TARIFF: "EMS",
    MODE: "EMS",
    EXTERNAL: "EMS",
    INSTALLER: "Other",
    PAUSE: "Other",
}
HOLD = 5.0  # seconds between two messages about one connector


def constraining(limits: CurrentLimits, connector_id: int) -> Limit | None:
    """The local source holding the connector below every other source, or None."""
    effective = limits.effective(connector_id)
    if effective.source not in LOCAL:
        return None
    others = [a for s, a in limits.sources(connector_id).items() if s not in LOCAL]
    return effective if effective.amps < min(others, default=math.inf) else None


# notify(connector, constraining limit or None, the source told before or None) -> told
Notify = Callable[[int, Limit | None, str | None], Awaitable[bool]]


class LocalLimitWatch:
    def __init__(
        self,
        limits: CurrentLimits,
        connector_ids: list[int],
        notify: Notify,
        significance: Callable[[], float] = lambda: 0.2,
        hold: float = HOLD,
    ) -> None:
        """significance(): the fraction of the value told by which it must move to be
        told again (LimitChangeSignificance / 100)."""
        self._limits = limits
        self._connector_ids = list(connector_ids)
        self._notify = notify
        self._significance = significance
        self.hold = hold
        self._told: dict[int, str | None] = {}  # the source the CSMS knows, per connector
        self._told_amps: dict[int, float] = {}
        self._last: dict[int, float] = {}  # when it was told (loop time)
        self._dirty = asyncio.Event()
        self._running = False
        limits.on_change(self._changed)  # CurrentLimits has no unsubscribe: one per client

    def _changed(self, _connector_id: int, _limit: Limit) -> None:
        if self._running:
            self._dirty.set()

    def resend(self) -> None:
        """A new session: the CSMS knows nothing yet."""
        self._told.clear()
        self._dirty.set()

    async def run(self) -> None:
        self._running = True
        try:
            while True:
                self._dirty.clear()
                delay = await self._pass()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._dirty.wait()
        finally:
            self._running = False

    async def _pass(self) -> float | None:
        """Tell what changed; the seconds until a held change is due (None: none)."""
        loop = asyncio.get_running_loop()
        due: float | None = None
        for cid in self._connector_ids:
            now_limit = constraining(self._limits, cid)
            source = now_limit.source if now_limit is not None else None
            told = self._told.get(cid)
            if source == told and not self._moved(cid, now_limit):
                continue
            wait = self._last.get(cid, -math.inf) + self.hold - loop.time()
            if wait > 0:
                due = wait if due is None else min(due, wait)
                continue
            if await self._notify(cid, now_limit, told):
                log.info("ocpp.charging_limit.told", connector=cid, source=source, before=told)
                self._told[cid] = source
                self._last[cid] = loop.time()
                if now_limit is not None:
                    self._told_amps[cid] = now_limit.amps
        return due

    def _moved(self, cid: int, limit: Limit | None) -> bool:
        """The constraining value moved by more than the significance since it was told."""
        told = self._told_amps.get(cid)
        if limit is None or told is None:
            return False
        return abs(limit.amps - told) > self._significance() * told
