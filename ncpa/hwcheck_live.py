"""The hardware check of `ncpa hw-check`, run inside the running agent (for the API).

The same steps and the same fixes as the command line, on the board the agent already
holds. What the agent owns is looked at, never moved: the contactor and the lock are
checked against what the agent commanded (the command line toggles them, but here only
the charging core may), the meter by the agent's own last reading, and the RFID reader
by its health (a card tapped now belongs to the charging core).
"""

from __future__ import annotations

import io
import time
from dataclasses import asdict
from typing import Any

from hal.board import Board, ConnectorDevices
from ncpa.charging.connector import ConnectorView
from ncpa.charging.station import ChargingStation
from ncpa.hwcheck import FAIL, HwCheck, StepFailed, StepSkipped


class LiveHwCheck(HwCheck):
    def __init__(self, station: ChargingStation) -> None:
        super().__init__(station.config, io.StringIO(), card_timeout=0.0)
        self.station = station

    def _view(self, cid: int) -> ConnectorView:
        return next(v for v in self.station.views() if v.connector_id == cid)

    async def meter(self, c: ConnectorDevices) -> str:
        r = self._view(c.connector_id).last_reading
        stale = max(3.0, 3 * self.config.charging.meter_timeout)
        if r is None or time.time() - r.timestamp > stale:
            return await super().meter(c)  # no fresh reading: ask the meter, with its fixes
        v = "/".join(f"{x:.0f}" for x in r.voltage_v)
        a = "/".join(f"{x:.1f}" for x in r.current_a)
        age = max(0.0, time.time() - r.timestamp)
        return (
            f"{v} V, {a} A, {r.total_power_w:.0f} W, {r.energy_wh / 1000:.3f} kWh "
            f"(read {age:.1f} s ago)"
        )

    async def contactor(self, c: ConnectorDevices) -> str:
        commanded = self._view(c.connector_id).contactor_closed
        feedback = await c.contactor.feedback_closed()
        if feedback and not commanded:
            raise StepFailed(
                "feedback says closed while the contactor is commanded open",
                "Welded contacts, or the feedback input is inverted: check the auxiliary "
                f"contact wiring and hardware.connectors[{c.connector_id}].contactor."
                "feedback_active_high. Do not charge until fixed.",
            )
        state = "closed" if commanded else "open"
        if feedback != commanded:
            return f"commanded {state}, feedback not yet following (checked again by the agent)"
        return f"{state}, feedback follows (not toggled: the agent is running)"

    async def lock(self, c: ConnectorDevices) -> str:
        if c.lock is None:
            raise StepSkipped("no lock (tethered cable)")
        view = self._view(c.connector_id)
        return (
            "locked, confirmed by the feedback switch"
            if view.locked
            else "unlocked (not cycled: the agent is running; `ncpa hw-check` cycles it)"
        )

    async def card(self, board: Board) -> str:
        rfid = board.rfid
        if rfid is None:
            raise StepSkipped("no RFID reader configured")
        if getattr(rfid, "healthy", None) is False:
            raise StepFailed(
                "the reader does not answer",
                "Check the reader's TX/RX and supply, hardware.rfid.port and .baudrate; "
                "a PN532 board must have its interface switches set to HSU (UART).",
            )
        return "reader present (tap a card in the whitelist's learn mode to test a card)"


async def live_check(station: ChargingStation) -> dict[str, Any]:
    results = await LiveHwCheck(station).run_steps(station.board)
    return {
        "passed": not any(r.result == FAIL for r in results),
        "steps": [asdict(r) for r in results],
    }
