"""Phases and units: W limits to A with the measured voltage, and which phases an EV uses.

The pilot offers one current that applies to every phase the EV draws on, so
a power limit P over n phases is P / (n * V) amps, with V the measured
voltage (the mean over the phases in use; nominal 230 V when not measured).
"""

from __future__ import annotations

from collections.abc import Sequence

from hal.meter import MeterReading

NOMINAL_VOLTAGE = 230.0
# below this, a measured voltage is a dead phase or a meter glitch, not the mains
MIN_PLAUSIBLE_VOLTAGE = 100.0
# an EV drawing less than this on a phase does not use that phase
PHASE_IN_USE_A = 1.0


def measured_voltage(
    reading: MeterReading | None,
    phases: Sequence[int] = (0, 1, 2),
    nominal: float = NOMINAL_VOLTAGE,
) -> float:
    """Mean voltage over `phases` (0-based) that read plausibly; `nominal` when none does."""
    if reading is None:
        return nominal
    volts = [reading.voltage_v[p] for p in phases if reading.voltage_v[p] >= MIN_PLAUSIBLE_VOLTAGE]
    return sum(volts) / len(volts) if volts else nominal


def watts_to_amps(watts: float, phases: int, voltage: float = NOMINAL_VOLTAGE) -> float:
    """Per-phase current of a power limit spread over `phases` phases."""
    if phases < 1:
        raise ValueError("phases: >= 1")
    if voltage <= 0:
        raise ValueError("voltage: > 0")
    return watts / (phases * voltage)


def amps_to_watts(amps: float, phases: int, voltage: float = NOMINAL_VOLTAGE) -> float:
    if phases < 1:
        raise ValueError("phases: >= 1")
    return amps * phases * voltage


def phases_in_use(reading: MeterReading | None, installation_phases: int = 3) -> tuple[int, ...]:
    """0-based phases the EV draws on now; () when it draws nothing (so: unknown)."""
    if reading is None:
        return ()
    return tuple(
        p for p in range(installation_phases) if abs(reading.current_a[p]) >= PHASE_IN_USE_A
    )


def limit_to_amps(
    limit: float, unit: str, reading: MeterReading | None, installation_phases: int = 3
) -> float:
    """A limit in "A" or "W" as a per-phase current for this connector.

    W uses the phases the EV draws on (all of the installation's while it draws
    nothing: the conservative choice, the offer must hold when it starts on all).
    """
    if unit == "A":
        return limit
    if unit != "W":
        raise ValueError(f"unit {unit!r}: A or W")
    used = phases_in_use(reading, installation_phases) or tuple(range(installation_phases))
    return watts_to_amps(limit, len(used), measured_voltage(reading, used))
