"""EV charge controller (EVCC): control pilot state, PWM current offer, firmware version."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


class PilotState(enum.StrEnum):
    """IEC 61851-1 control pilot states."""

    A = "A"  # no EV connected
    B = "B"  # EV connected, not asking for energy
    C = "C"  # EV asks for energy
    D = "D"  # EV asks for energy, ventilation required
    E = "E"  # short circuit / EVSE fault (pilot at 0 V)
    F = "F"  # EVSE not available / pilot error (-12 V)


class EvccFault(enum.StrEnum):
    RCD = "rcd"  # residual current detected
    LINK_LOST = "evcc_link_lost"  # no answer from the controller
    DIODE = "diode"  # pilot diode check failed
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class EvccStatus:
    pilot: PilotState
    faults: frozenset[EvccFault] = field(default_factory=frozenset)


# PWM below 6 A is not a valid offer (IEC 61851-1); 0 means "no PWM" (state x1).
MIN_OFFER_A = 6.0


@runtime_checkable
class ChargeController(Protocol):
    def status_updates(self) -> AsyncIterator[EvccStatus]:
        """Yield the current status at once, then each change (pilot or faults)."""
        ...

    async def set_offered_current(self, amps: float) -> None:
        """Set the PWM duty cycle for `amps`; 0 switches PWM off (no energy offered)."""
        ...

    async def firmware_version(self) -> str: ...
