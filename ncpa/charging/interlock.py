"""The safety rules of the contactor. The one place that decides whether power may flow.

Pure functions over a snapshot of the connector, so they can be property-tested
on their own and are the same for every backend.
"""

from __future__ import annotations

from dataclasses import dataclass

from hal.evcc import MIN_OFFER_A, PilotState
from ncpa.charging.states import Fault

ENERGY_STATES = frozenset({PilotState.C, PilotState.D})


@dataclass(frozen=True, slots=True)
class Snapshot:
    pilot: PilotState
    authorized: bool  # an open transaction, durable in the store
    lock_required: bool  # socket with a latching device
    lock_confirmed: bool  # the lock's feedback says locked
    faults: frozenset[Fault]
    offered_a: float  # PWM offer in force


def contactor_may_close(s: Snapshot) -> bool:
    """Close only when the EV asks for energy, the session is authorized, the lock holds,
    a valid current is offered and no fault is active. Anything else: open at once."""
    return (
        s.pilot in ENERGY_STATES
        and s.authorized
        and (s.lock_confirmed or not s.lock_required)
        and not s.faults
        and s.offered_a >= MIN_OFFER_A
    )


def may_offer_current(s: Snapshot) -> bool:
    """PWM (an invitation to draw) only with an authorized session, the lock holding, no fault."""
    return s.authorized and (s.lock_confirmed or not s.lock_required) and not s.faults


def is_welded(
    commanded_closed: bool, feedback_closed: bool, seconds_since_open: float, settle_s: float
) -> bool:
    """Commanded open for longer than the settle time, yet the aux contact says closed."""
    return not commanded_closed and feedback_closed and seconds_since_open >= settle_s


def may_switch_phases(contactor_closed: bool, offered_a: float, feedback_closed: bool) -> bool:
    """IEC 61851: the phase count changes only with the contactor open and the EV paused
    (no PWM offer, so it cannot ask for energy in the middle of the switch). Open means
    commanded open and seen open: a welded contact not detected yet (its settle time) is
    closed whatever was commanded."""
    return not contactor_closed and not feedback_closed and offered_a == 0.0
