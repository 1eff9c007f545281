"""OCPP 1.6 payloads <-> ChargingProfile, checked against the `ocpp` library's schemas."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from ocpp.charge_point import camel_to_snake_case, snake_to_camel_case
from ocpp.messages import Call, CallResult, _validate_payload
from ocpp.v16 import call_result

from ncpa.energy.charging_profiles import ProfileError, validate
from ncpa.energy.profile_payloads import profile_from_payload, schedule_to_payload
from tests.energy.profile_helpers import T0, station_max, tx_profile


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def format_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# as smart-charging-api.md sends it (peak shaving), on the wire
PEAK_SHAVING: dict[str, Any] = {
    "chargingProfileId": 100,
    "stackLevel": 0,
    "chargingProfilePurpose": "ChargePointMaxProfile",
    "chargingProfileKind": "Absolute",
    "chargingSchedule": {
        "chargingRateUnit": "W",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 22000}],
        "startSchedule": "2026-01-08T00:00:00+00:00",
    },
}

ENERGY_CAP: dict[str, Any] = {
    "chargingProfileId": 3,
    "transactionId": 1234,
    "stackLevel": 1,
    "chargingProfilePurpose": "TxProfile",
    "chargingProfileKind": "Relative",
    "validTo": "2026-01-09T00:00:00Z",
    "chargingSchedule": {
        "chargingRateUnit": "W",
        "duration": 7200,
        "minChargingRate": 4140,
        "chargingSchedulePeriod": [
            {"startPeriod": 0, "limit": 11000.0, "numberPhases": 3},
            {"startPeriod": 3600, "limit": 7400},
        ],
    },
}


def test_the_payload_is_valid_ocpp() -> None:
    for payload in (PEAK_SHAVING, ENERGY_CAP):
        call = Call("1", "SetChargingProfile", {"connectorId": 0, "csChargingProfiles": payload})
        _validate_payload(call, "1.6")


@pytest.mark.parametrize("as_handler_gets_it", [False, True])
def test_profile_from_payload(as_handler_gets_it: bool) -> None:
    payload = camel_to_snake_case(ENERGY_CAP) if as_handler_gets_it else ENERGY_CAP
    p = profile_from_payload(1, payload, parse_time, {"1234": 7})
    assert p == dataclasses.replace(
        tx_profile(
            3,
            [(0, 11000.0, 3), (3600, 7400.0)],
            stack_level=1,
            kind="Relative",
            unit="W",
            duration=7200,
            min_rate=4140,
            transaction_id=7,
        ),
        valid_to=T0 + 86_400,
    )
    assert validate(p, {1: (7, T0)}, T0) == p


def test_station_max_from_payload() -> None:
    p = profile_from_payload(0, PEAK_SHAVING, parse_time)
    assert p == station_max(100, [(0, 22000.0)], unit="W")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("stackLevel"), r"chargingProfile.stack_level: missing"),
        (lambda d: d.update(stackLevel="1"), r"chargingProfile.stack_level: '1' has the wrong"),
        (lambda d: d.update(transactionId=55), r"transaction 55 is not active"),
        (lambda d: d.update(validTo="tomorrow"), r"chargingProfile.valid_to: "),
        (lambda d: d.update(chargingSchedule=[]), r"chargingProfile.charging_schedule: \[\]"),
        (
            lambda d: d["chargingSchedule"]["chargingSchedulePeriod"].append({"limit": 6}),
            r"chargingSchedulePeriod\[2\].start_period: missing",
        ),
        (
            lambda d: d["chargingSchedule"]["chargingSchedulePeriod"].append(5),
            r"chargingSchedulePeriod\[2\]: expected an object, got 5",
        ),
    ],
)
def test_malformed_payloads(change: Any, message: str) -> None:
    payload = copy.deepcopy(ENERGY_CAP)
    change(payload)
    with pytest.raises(ProfileError, match=message):
        profile_from_payload(1, payload, parse_time, {"1234": 7})


def test_composite_schedule_payload_is_valid_ocpp() -> None:
    schedule = dataclasses.replace(
        station_max(1, [(0, 15.9), (600, 32.0, 1)]).schedule,
        start_schedule=T0 + 0.25,
        duration=900,
        min_charging_rate=6.0,
    )
    body = schedule_to_payload(schedule, format_time)
    assert body == {
        "charging_rate_unit": "A",
        "charging_schedule_period": [
            {"start_period": 0, "limit": 15.9},
            {"start_period": 600, "limit": 32.0, "number_phases": 1},
        ],
        "duration": 900,
        "start_schedule": "2026-01-08T00:00:00Z",
        "min_charging_rate": 6.0,
    }
    conf = call_result.GetCompositeSchedule(
        status="Accepted", connector_id=1, schedule_start=format_time(T0), charging_schedule=body
    )
    payload = snake_to_camel_case(dataclasses.asdict(conf))
    _validate_payload(CallResult("1", payload, "GetCompositeSchedule"), "1.6")
