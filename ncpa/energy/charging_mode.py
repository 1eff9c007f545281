"""Limit source `mode`: the charging mode (FAST, SOLAR, SOLAR_MIN) applied to the connectors.

FAST sets no value (today's behaviour: the other sources decide). SOLAR and SOLAR_MIN
run the SolarController on each grid measurement the load balancer takes (the same
meter, the same period) and set `mode` per connector; the other sources still apply,
the minimum wins. With a phase switch, a change of phase count pauses the EV (`mode` 0),
waits until the contactor is open, switches through the charging core (whose
interlock checks it) and lets the charge resume.

The mode is a run-time setting (store key `charging_mode`, default `[energy]
charging_mode`): the local API and MQTT set it through `set_mode`.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from hal.grid import GridReading
from ncpa.energy.limits import MODE
from ncpa.energy.load_balancer import ConnectorLoad
from ncpa.energy.settings import KEY_CHARGING_MODE, EnergyConfig, check_charging_mode
from ncpa.energy.solar import SOLAR_MIN, SolarController, SolarDecision
from ncpa.energy.station_api import StationInfo
from ncpa.events import ChargingModeChanged
from ncpa.log import get_logger

log = get_logger(__name__)

FAST = "FAST"
SWITCHING = "switching_phases"


class ChargingModeSource:
    def __init__(
        self,
        station: StationInfo,
        cfg: EnergyConfig,
        phases: int,
        *,
        switch_ids: list[int] | None = None,
        switch_phases: Callable[[int, int], Awaitable[bool]] | None = None,
    ) -> None:
        """switch_ids: connectors with a phase switch; switch_phases(cid, phases): the
        charging core's command, which refuses unless the interlock allows it."""
        self.station = station
        self.switch_phases = switch_phases
        self.cfg = cfg
        self.mode = cfg.charging_mode
        self.switch_ids = list(switch_ids or [])
        switchable = bool(self.switch_ids) and switch_phases is not None
        self.controller = SolarController(cfg, phases, switchable=switchable)
        self._switch_task: asyncio.Task[None] | None = None
        self.decision: SolarDecision | None = None
        self._applied: dict[int, float | None] = {}
        self._switching_to: int | None = None
        self._published: tuple[str, str] | None = None
        self.switch_log: list[tuple[float, int, int]] = []  # (time, connector, phases)

    # -- the setting -------------------------------------------------------------

    async def load(self) -> None:
        stored = await self.station.store.get_setting(KEY_CHARGING_MODE, None)
        if stored is not None:
            try:
                self.mode = check_charging_mode(stored)
            except ValueError as e:
                log.error("energy.setting_invalid", key=KEY_CHARGING_MODE, error=str(e))
        self._apply_fast()
        self._publish()

    async def set_mode(self, mode: object) -> str:
        """Persist and apply a mode. Raises ValueError (and changes nothing) on a bad one."""
        new = check_charging_mode(mode)
        await self.station.store.set_setting(KEY_CHARGING_MODE, new)
        self.apply_mode(new)
        return new

    def apply_mode(self, mode: str) -> None:
        if mode == self.mode:
            return
        log.info("charging_mode", mode=mode, previous=self.mode)
        self.mode = mode
        self.controller.reset()
        self._apply_fast()
        self._publish()

    def fail_safe(self) -> None:
        self.controller.reset()
        self._apply_fast()

    def _apply_fast(self) -> None:
        """FAST: no value. SOLAR and SOLAR_MIN until the next measurement: what they allow
        without one (nothing, or the minimum), so a new mode never waits for the meter."""
        self.decision = None
        self._switching_to = None
        if self.mode == FAST:
            amps = None
        else:
            amps = self.cfg.min_current if self.mode == SOLAR_MIN else 0.0
        self._apply({cid: amps for cid in self.station.connector_ids})

    # -- each grid measurement ---------------------------------------------------

    def step(
        self, reading: GridReading | None, connectors: list[ConnectorLoad], now: float
    ) -> None:
        if self.mode == FAST:
            return
        decision = self.controller.update(self.mode, reading, connectors, now)
        self.decision = decision
        if (
            self._switching_to is None
            and decision.phases != self.controller.active_phases
            and self._may_pause_for_a_switch()
        ):
            self._switching_to = decision.phases
            log.info("phase_switch.wanted", phases=decision.phases, state=decision.state)
        if self._switching_to is not None:
            self._apply({cid: 0.0 for cid in self.station.connector_ids})
            self._try_switch()
        else:
            self._apply(decision.per_connector)
        self._publish()

    def _may_pause_for_a_switch(self) -> bool:
        """SOLAR_MIN promises the minimum always: it switches only while no EV charges
        (its contactor is open anyway); SOLAR may pause a charge for the switch."""
        if self.mode != SOLAR_MIN:
            return True
        return not any(self.station.view(cid).contactor_closed for cid in self.switch_ids)

    def _try_switch(self) -> None:
        """Switch once every connector with a switch has its contactor open and no offer."""
        target = self._switching_to
        assert target is not None
        if self._switch_task is not None and not self._switch_task.done():
            return
        views = [self.station.view(cid) for cid in self.switch_ids]
        if any(v.contactor_closed or v.offered_a > 0 for v in views):
            return  # the core opens it on the 0 A offer; the next measurement tries again
        switch_phases = self.switch_phases
        assert switch_phases is not None

        async def switch() -> None:
            ok = True
            for cid in self.switch_ids:
                done = await switch_phases(cid, target)
                if done:
                    self.switch_log.append((time.time(), cid, target))
                ok = ok and done
            # refused or failed (logged by the core): stay on the phases we have, and
            # let the switch delay pass again before another try, rather than stay paused
            self.controller.switched(target if ok else self.controller.active_phases)
            self._switching_to = None

        self._switch_task = asyncio.get_running_loop().create_task(switch(), name="phase-switch")

    def _apply(self, per_connector: dict[int, float | None]) -> None:
        limits = self.station.limits
        for cid, amps in per_connector.items():
            if self._applied.get(cid, -1.0) != amps:
                self._applied[cid] = amps
                limits.set(MODE, amps, connector_id=cid)

    def _publish(self) -> None:
        state = self.state
        key = (self.mode, state)
        if key != self._published:
            self._published = key
            self.station.bus.publish(ChargingModeChanged(self.mode, state))

    @property
    def state(self) -> str:
        if self.mode == FAST:
            return "fast"
        if self._switching_to is not None:
            return SWITCHING
        return self.decision.state if self.decision else "waiting"

    def explain(self) -> dict[str, Any]:
        d = self.decision
        return {
            "mode": self.mode,
            "state": self.state,
            "phases": self.controller.active_phases,
            "surplus": None if d is None or d.surplus_a is None else d.surplus_a,
            "target": None
            if d is None or d.target_a is None or math.isinf(d.target_a)
            else d.target_a,
            "chargerCurrent": None if d is None else d.total_a,
            "importAllowance": self.cfg.solar_import_allowance,
        }

    def clear(self) -> None:
        self._apply({cid: None for cid in self.station.connector_ids})
        self._applied.clear()
