"""OCPP 1.6 chargingProfile / chargingSchedule payloads <-> the profile engine's dataclasses.

Handlers get snake_case dicts from the ocpp library (already schema-checked); the
engine's `install` checks the meaning (purpose, kind, connector, transaction).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ncpa.energy.charging_profiles import (
    ChargingProfile,
    ChargingSchedule,
    ProfileError,
    SchedulePeriod,
)
from ncpa.ocpp.timeutil import fmt_time, parse_time


def _time(data: Mapping[str, Any], key: str) -> float | None:
    text = data.get(key)
    if text is None:
        return None
    try:
        return parse_time(str(text))
    except ValueError as e:
        raise ProfileError(f"{key}: {e}") from e


def profile_from_payload(
    connector_id: int, data: Mapping[str, Any], local_ids: Mapping[str, int]
) -> ChargingProfile:
    """A ChargingProfile; a transactionId is the CSMS's and becomes the local one."""
    s = data["charging_schedule"]
    periods = tuple(
        SchedulePeriod(int(p["start_period"]), float(p["limit"]), p.get("number_phases"))
        for p in s["charging_schedule_period"]
    )
    tx = data.get("transaction_id")
    local_tx = None
    if tx is not None:
        local_tx = local_ids.get(str(tx))
        if local_tx is None:
            raise ProfileError(f"transactionId {tx} is not an active transaction")
    min_rate = s.get("min_charging_rate")
    return ChargingProfile(
        id=int(data["charging_profile_id"]),
        connector_id=connector_id,
        stack_level=int(data["stack_level"]),
        purpose=str(data["charging_profile_purpose"]),
        kind=str(data["charging_profile_kind"]),
        schedule=ChargingSchedule(
            charging_rate_unit=str(s["charging_rate_unit"]),
            periods=periods,
            duration=s.get("duration"),
            start_schedule=_time(s, "start_schedule"),
            min_charging_rate=None if min_rate is None else float(min_rate),
            schedule_id=None if s.get("id") is None else int(s["id"]),
        ),
        recurrency=data.get("recurrency_kind"),
        valid_from=_time(data, "valid_from"),
        valid_to=_time(data, "valid_to"),
        transaction_id=local_tx,
    )


def schedule_to_payload(schedule: ChargingSchedule) -> dict[str, Any]:
    """The chargingSchedule of GetCompositeSchedule.conf (snake_case)."""
    out: dict[str, Any] = {
        "charging_rate_unit": schedule.charging_rate_unit,
        "charging_schedule_period": [
            {"start_period": p.start_period, "limit": round(float(p.limit), 1)}
            | ({} if p.number_phases is None else {"number_phases": p.number_phases})
            for p in schedule.periods
        ],
    }
    if schedule.duration is not None:
        out["duration"] = schedule.duration
    if schedule.start_schedule is not None:
        out["start_schedule"] = fmt_time(schedule.start_schedule)
    if schedule.min_charging_rate is not None:
        out["min_charging_rate"] = round(float(schedule.min_charging_rate), 1)
    return out


def profile_to_payload(p: ChargingProfile) -> dict[str, Any]:
    """An installed profile as a chargingProfile payload (snake_case; no transaction id)."""
    out: dict[str, Any] = {
        "charging_profile_id": p.id,
        "stack_level": p.stack_level,
        "charging_profile_purpose": p.purpose,
        "charging_profile_kind": p.kind,
        "charging_schedule": schedule_to_payload(p.schedule),
    }
    if p.recurrency is not None:
        out["recurrency_kind"] = p.recurrency
    if p.valid_from is not None:
        out["valid_from"] = fmt_time(p.valid_from)
    if p.valid_to is not None:
        out["valid_to"] = fmt_time(p.valid_to)
    return out
