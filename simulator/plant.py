"""The simulated physical world behind the HAL: cables, relays, lock motors, meters, EVs.

Energy is integrated from the power really drawn, over real (monotonic) time,
each time the plant is looked at or changed. Faults are injected here and the
simulated devices show their effects, so the agent meets them as on hardware.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hal.evcc import PilotState
from simulator.ev import EvModel

VOLTAGE_V = 230.0


class FaultKind(enum.StrEnum):
    RCD = "rcd"
    WELDED_CONTACTOR = "welded_contactor"
    LOCK_FAILURE = "lock_failure"
    METER_TIMEOUT = "meter_timeout"
    EVCC_LINK_LOST = "evcc_link_lost"


@dataclass
class SimConnector:
    connector_id: int
    phases: int  # phases the station is wired for
    ev: EvModel | None = None
    offered_a: float = 0.0
    contactor_cmd: bool = False
    locked: bool = False
    energy_wh: float = 0.0
    faults: set[FaultKind] = field(default_factory=set)
    pilot: PilotState = PilotState.A

    @property
    def contactor_closed(self) -> bool:
        """Physically closed: commanded, or welded shut."""
        return self.contactor_cmd or FaultKind.WELDED_CONTACTOR in self.faults


class Plant:
    def __init__(
        self, connectors: int = 1, phases: int = 3, ev_defaults: EvModel | None = None
    ) -> None:
        self.connectors = {cid: SimConnector(cid, phases) for cid in range(1, connectors + 1)}
        self.phases = phases
        self.ev_defaults = ev_defaults or EvModel()
        self.breaker_closed = True
        self.last_card: str | None = None
        self.inputs: dict[str, bool] = {"tariff": False, "rcd_fault": False}
        self.cards: asyncio.Queue[str] = asyncio.Queue()
        self._listeners: list[Callable[[int], None]] = []
        self._input_listeners: list[Callable[[str, bool], None]] = []
        self._last_advance = time.monotonic()
        # every phase switch: (connector, phases, contactor physically closed at the time)
        self.phase_switches: list[tuple[int, int, bool]] = []

    # -- observers (the simulated devices) ---------------------------------------

    def on_connector_change(self, listener: Callable[[int], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def on_input_change(self, listener: Callable[[str, bool], None]) -> Callable[[], None]:
        self._input_listeners.append(listener)
        return lambda: self._input_listeners.remove(listener)

    def _changed(self, cid: int) -> None:
        c = self.connectors[cid]
        pilot = PilotState.A if c.ev is None else c.ev.pilot(c.offered_a)
        c.pilot = pilot
        for listener in list(self._listeners):
            listener(cid)

    # -- physics ------------------------------------------------------------------

    def powered(self, c: SimConnector) -> bool:
        return self.breaker_closed and c.contactor_closed

    def currents(self, cid: int) -> tuple[float, float, float]:
        c = self.connectors[cid]
        if c.ev is None or not self.powered(c) or c.pilot not in (PilotState.C, PilotState.D):
            return (0.0, 0.0, 0.0)
        amps = c.ev.current_a(c.offered_a)
        n = min(c.ev.phases, c.phases)
        return tuple(amps if i < n else 0.0 for i in range(3))  # type: ignore[return-value]

    def voltages(self, cid: int) -> tuple[float, float, float]:
        c = self.connectors[cid]
        if not self.breaker_closed:
            return (0.0, 0.0, 0.0)
        return tuple(VOLTAGE_V if i < c.phases else 0.0 for i in range(3))  # type: ignore[return-value]

    def advance(self) -> None:
        """Integrate energy up to now, and let the EVs' batteries fill."""
        now = time.monotonic()
        dt = now - self._last_advance
        self._last_advance = now
        if dt <= 0:
            return
        for cid, c in self.connectors.items():
            power = sum(v * i for v, i in zip(self.voltages(cid), self.currents(cid), strict=True))
            if power <= 0:
                continue
            wh = power * dt / 3600.0
            c.energy_wh += wh
            if c.ev is not None:
                was_full = c.ev.full
                c.ev.absorb(wh)
                if c.ev.full and not was_full:
                    self._changed(cid)

    # -- what a developer (or a test) does ---------------------------------------------

    def connector(self, cid: int) -> SimConnector:
        if cid not in self.connectors:
            raise KeyError(f"no connector {cid} (have {sorted(self.connectors)})")
        return self.connectors[cid]

    def plug(self, cid: int, ev: EvModel | None = None) -> None:
        c = self.connector(cid)
        if c.ev is not None:
            raise ValueError(f"connector {cid}: an EV is already plugged in")
        self.advance()
        d = self.ev_defaults
        c.ev = ev or EvModel(d.capacity_wh, d.soc, d.max_current_a, d.phases, True)
        self._changed(cid)

    def unplug(self, cid: int) -> None:
        """The cable leaves the EV (the car side unlocks on its own; the socket lock may hold)."""
        c = self.connector(cid)
        if c.ev is None:
            raise ValueError(f"connector {cid}: no EV plugged in")
        self.advance()
        c.ev = None
        self._changed(cid)

    def set_ev_state(self, cid: int, wants_energy: bool) -> None:
        c = self.connector(cid)
        if c.ev is None:
            raise ValueError(f"connector {cid}: no EV plugged in")
        self.advance()
        c.ev.wants_energy = wants_energy
        self._changed(cid)

    def present_card(self, uid: str) -> None:
        self.last_card = uid
        self.cards.put_nowait(uid)

    def set_fault(self, kind: FaultKind, active: bool, cid: int = 1) -> None:
        c = self.connector(cid)
        self.advance()
        if active:
            c.faults.add(kind)
        else:
            c.faults.discard(kind)
        self._changed(cid)

    def set_breaker(self, closed: bool) -> None:
        self.advance()
        self.breaker_closed = closed
        for cid in self.connectors:
            self._changed(cid)

    def set_input(self, name: str, value: bool) -> None:
        if name not in self.inputs:
            raise KeyError(f"no input {name!r} (have {sorted(self.inputs)})")
        self.inputs[name] = value
        for listener in list(self._input_listeners):
            listener(name, value)

    # -- what the simulated devices do -----------------------------------------------

    def set_offer(self, cid: int, amps: float) -> None:
        self.advance()
        self.connectors[cid].offered_a = amps
        self._changed(cid)

    def set_contactor(self, cid: int, closed: bool) -> None:
        self.advance()
        self.connectors[cid].contactor_cmd = closed
        self._changed(cid)

    def switch_phases(self, cid: int, phases: int) -> None:
        """The phase-switch contactor moves; refused (DeviceError) under load."""
        from hal.errors import DeviceError

        c = self.connectors[cid]
        self.advance()
        self.phase_switches.append((cid, phases, c.contactor_closed))
        if c.contactor_closed:
            raise DeviceError("phase switch under load: the main contactor is closed")
        c.phases = phases
        self._changed(cid)

    def move_lock(self, cid: int, locked: bool) -> None:
        c = self.connectors[cid]
        if FaultKind.LOCK_FAILURE not in c.faults:
            c.locked = locked

    def trip_breaker(self) -> None:
        self.set_breaker(False)

    # -- state for the control API ------------------------------------------------------

    def snapshot(self) -> dict[str, object]:
        self.advance()
        out: list[dict[str, object]] = []
        for cid, c in self.connectors.items():
            currents = self.currents(cid)
            volts = self.voltages(cid)
            ev = c.ev
            out.append(
                {
                    "id": cid,
                    "plugged": ev is not None,
                    "pilot": str(c.pilot),
                    "offered_current": c.offered_a,
                    "contactor": {"commanded": c.contactor_cmd, "closed": c.contactor_closed},
                    "lock": {"locked": c.locked},
                    "currents": [round(i, 3) for i in currents],
                    "voltages": list(volts),
                    "power_w": round(sum(v * i for v, i in zip(volts, currents, strict=True)), 1),
                    "energy_wh": round(c.energy_wh, 3),
                    "faults": sorted(str(f) for f in c.faults),
                    "ev": None
                    if ev is None
                    else {
                        "wants_energy": ev.wants_energy,
                        "soc": round(ev.soc, 4),
                        "capacity_wh": ev.capacity_wh,
                        "max_current": ev.max_current_a,
                        "phases": ev.phases,
                    },
                }
            )
        faults = [
            {"kind": str(f), "connector": cid}
            for cid, c in self.connectors.items()
            for f in sorted(c.faults)
        ]
        return {
            "connectors": out,
            "last_card": self.last_card,
            "faults": faults,
            "breaker_closed": self.breaker_closed,
            "inputs": dict(self.inputs),
        }
