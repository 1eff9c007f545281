"""OCPP 1.6 charging profile payloads <-> the engine's dataclasses.

For the OCPP client: `profile_from_payload` turns the `csChargingProfiles` of
SetChargingProfile (or the `chargingProfile` of RemoteStartTransaction) into a
ChargingProfile, and `schedule_to_payload` turns a composite schedule into the
`chargingSchedule` of GetCompositeSchedule.conf. Keys may be camelCase (the JSON on the
wire) or snake_case (what the `ocpp` library hands to its handlers); output is snake_case,
which the library turns back into camelCase.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ncpa.energy.charging_profiles import (
    ChargingProfile,
    ChargingSchedule,
    ProfileError,
    SchedulePeriod,
)

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _snake(data: Mapping[str, Any]) -> dict[str, Any]:
    return {_CAMEL.sub("_", k).lower(): v for k, v in data.items()}


class _Reader:
    """Typed access to one object of the payload; errors name the field."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, Mapping):
            raise ProfileError(f"{where}: expected an object, got {data!r}")
        self.data = _snake(data)
        self.where = where

    def get(self, key: str, kind: type | tuple[type, ...], required: bool = False) -> Any:
        value = self.data.get(key)
        if value is None:
            if required:
                raise ProfileError(f"{self.where}.{key}: missing")
            return None
        if isinstance(value, bool) or not isinstance(value, kind):
            raise ProfileError(f"{self.where}.{key}: {value!r} has the wrong type")
        return value

    def time(self, key: str, parse_time: Callable[[str], float]) -> float | None:
        text = self.get(key, str)
        if text is None:
            return None
        try:
            return parse_time(text)
        except ValueError as e:
            raise ProfileError(f"{self.where}.{key}: {e}") from e


def profile_from_payload(
    connector_id: int,
    payload: Mapping[str, Any],
    parse_time: Callable[[str], float],
    local_transaction_ids: Mapping[str, int] | None = None,
) -> ChargingProfile:
    """A ChargingProfile from an OCPP 1.6 chargingProfile object (not yet validated: install()
    does that). Raises ProfileError when the payload is malformed.

    local_transaction_ids: the CSMS's transaction id (as a string) -> local transaction id,
    for the open transactions; a TxProfile's transactionId is looked up there.
    """
    p = _Reader(payload, "chargingProfile")
    s = _Reader(p.get("charging_schedule", Mapping, required=True), "chargingSchedule")
    raw_periods = s.get("charging_schedule_period", list, required=True)
    periods = []
    for i, raw in enumerate(raw_periods):
        q = _Reader(raw, f"chargingSchedulePeriod[{i}]")
        periods.append(
            SchedulePeriod(
                q.get("start_period", int, required=True),
                float(q.get("limit", (int, float), required=True)),
                q.get("number_phases", int),
            )
        )
    transaction_id = p.get("transaction_id", int)
    if transaction_id is not None:
        local = (local_transaction_ids or {}).get(str(transaction_id))
        if local is None:
            raise ProfileError(
                f"chargingProfile.transactionId: transaction {transaction_id} is not active"
            )
        transaction_id = local
    min_rate = s.get("min_charging_rate", (int, float))
    return ChargingProfile(
        id=p.get("charging_profile_id", int, required=True),
        connector_id=connector_id,
        stack_level=p.get("stack_level", int, required=True),
        purpose=p.get("charging_profile_purpose", str, required=True),
        kind=p.get("charging_profile_kind", str, required=True),
        schedule=ChargingSchedule(
            charging_rate_unit=s.get("charging_rate_unit", str, required=True),
            periods=tuple(periods),
            duration=s.get("duration", int),
            start_schedule=s.time("start_schedule", parse_time),
            min_charging_rate=None if min_rate is None else float(min_rate),
        ),
        recurrency=p.get("recurrency_kind", str),
        valid_from=p.time("valid_from", parse_time),
        valid_to=p.time("valid_to", parse_time),
        transaction_id=transaction_id,
    )


def schedule_to_payload(
    schedule: ChargingSchedule, format_time: Callable[[float], str]
) -> dict[str, Any]:
    """The chargingSchedule of GetCompositeSchedule.conf (snake_case, None fields left out)."""
    out: dict[str, Any] = {
        "charging_rate_unit": schedule.charging_rate_unit,
        "charging_schedule_period": [
            {"start_period": p.start_period, "limit": p.limit}
            | ({} if p.number_phases is None else {"number_phases": p.number_phases})
            for p in schedule.periods
        ],
    }
    if schedule.duration is not None:
        out["duration"] = schedule.duration
    if schedule.start_schedule is not None:
        out["start_schedule"] = format_time(schedule.start_schedule)
    if schedule.min_charging_rate is not None:
        out["min_charging_rate"] = schedule.min_charging_rate
    return out
