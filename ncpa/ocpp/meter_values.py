"""MeterValue entries (snake_case, as the ocpp library takes them) from a meter reading."""

from __future__ import annotations

from typing import Any

from hal.meter import MeterReading
from ncpa.ocpp.timeutil import fmt_time

_PHASES = ("L1", "L2", "L3")


def sampled_values(
    reading: MeterReading,
    measurands: list[str],
    context: str,
    offered_a: float,
    phases: int,
    *,
    edges_energy_only: bool = True,
) -> list[dict[str, Any]]:
    """edges_energy_only: in the Transaction.Begin / End contexts, only the energy
    registers (1.6 central systems); 2.0.1's TxStarted/TxEndedMeasurands name their own."""
    out: list[dict[str, Any]] = []

    def add(measurand: str, value: str, unit: str, phase: str | None = None) -> None:
        sv: dict[str, Any] = {
            "value": value,
            "context": context,
            "measurand": measurand,
            "location": "Outlet",
            "unit": unit,
        }
        if phase:
            sv["phase"] = phase
        out.append(sv)

    used = _PHASES[: max(1, phases)]
    if edges_energy_only and context in ("Transaction.Begin", "Transaction.End"):
        # some central systems take any sample in these contexts as meter start/stop
        measurands = [m for m in measurands if m.startswith("Energy.") and "Register" in m]
    # the energy register last: some central systems keep the last energy value of a message
    measurands = sorted(measurands, key=lambda m: m == "Energy.Active.Import.Register")
    for m in measurands:
        if m == "Energy.Active.Import.Register":
            # integer Wh: some CSMSs parse the value as an integer
            add(m, str(round(reading.energy_wh)), "Wh")
        elif m == "Power.Active.Import":
            add(m, str(round(reading.total_power_w)), "W")
        elif m == "Current.Import":
            for i, ph in enumerate(used):
                add(m, f"{reading.current_a[i]:.1f}", "A", ph)
        elif m == "Voltage":
            for i, ph in enumerate(used):
                add(m, f"{reading.voltage_v[i]:.1f}", "V", f"{ph}-N")
        elif m == "Current.Offered":
            add(m, f"{offered_a:.1f}", "A")
    return out


def meter_value(
    reading: MeterReading,
    measurands: list[str],
    context: str,
    offered_a: float,
    phases: int,
    *,
    edges_energy_only: bool = True,
) -> dict[str, Any]:
    return {
        "timestamp": fmt_time(reading.timestamp),
        "sampled_value": sampled_values(
            reading, measurands, context, offered_a, phases, edges_energy_only=edges_energy_only
        ),
    }
