"""Test doubles of the four reference central systems (../shared/spec/csms-references/INTEROP.md).

Each is the test CSMS with the quirks observed in that system's code.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from ocpp.v16 import call

from tests.ocpp.csms import CsmsSide, Msg, Quirks


def _amps_profile(pid: int, limit: float) -> dict[str, Any]:
    return {
        "charging_profile_id": pid,
        "stack_level": 1,
        "charging_profile_purpose": "TxDefaultProfile",
        "charging_profile_kind": "Absolute",
        "charging_schedule": {
            "charging_rate_unit": "A",
            "charging_schedule_period": [{"start_period": 0, "limit": limit}],
        },
    }


def go_csms() -> Quirks:
    """csms-rest-api.md: /ws/{id}; first of the client's subprotocols; never answers unknown
    or invalid calls; tx ids restart at 1; configures sampling after boot; amps profiles
    at transaction start and stop; an unknown charge point gets Boot Rejected."""
    counter = {"n": 0}

    def tx_id(_n: int) -> int:
        counter["n"] += 1
        return counter["n"]

    async def after(side: CsmsSide, msg: Msg) -> None:
        if msg.action == "BootNotification":
            await side.call(call.ChangeConfiguration(key="MeterValueSampleInterval", value="60"))
            await side.call(
                call.ChangeConfiguration(
                    key="MeterValuesSampledData",
                    value="Energy.Active.Import.Register,Power.Active.Import",
                )
            )
        elif msg.action in ("StartTransaction", "StopTransaction"):
            limit = 16 if msg.action == "StartTransaction" else 32
            await side.call(
                call.SetChargingProfile(
                    connector_id=msg.payload.get("connectorId", 1),
                    cs_charging_profiles=_amps_profile(1, limit),
                )
            )

    q = Quirks(
        prefix="/ws",
        subprotocols=["ocpp1.6", "ocpp2.0.1"],
        pick_client_first=True,
        boot_interval=600,
        tx_ids=tx_id,
        never_answer={"DataTransfer", "SecurityEventNotification"},
        known_ids={"CP1"},
        unknown_id="boot_rejected",
        after=after,
    )
    q.restart_tx_ids = lambda: counter.update(n=0)  # type: ignore[attr-defined]
    return q


def ocpp_core(password: str) -> Quirks:
    """ocpp-core.md: /OCPP/{id}; server's order (1.6 first); HTTP Basic per charge point;
    unknown charge point -> HTTP 412; TxDefaultProfile id 100 stack 1 after boot."""

    async def after(side: CsmsSide, msg: Msg) -> None:
        if msg.action == "BootNotification":
            p = _amps_profile(100, 20)
            await side.call(call.SetChargingProfile(connector_id=1, cs_charging_profiles=p))

    return Quirks(
        prefix="/OCPP",
        subprotocols=["ocpp1.6", "ocpp2.0.1", "ocpp2.1"],
        basic_auth=("CP1", password),
        boot_interval=300,
        known_ids={"CP1"},
        unknown_id="http_412",
        after=after,
    )


def cloud_gateway() -> Quirks:
    """ocpp-gateway-201.md: /{id}; unknown actions get a schema-invalid CallResult;
    currentTime without zone and with microseconds; sends 2.0.1 RequestStartTransaction
    even to a 1.6 charge point; unknown charge point closed with 1008."""

    async def after(side: CsmsSide, msg: Msg) -> None:
        if msg.action == "BootNotification":
            raw = [2, str(uuid.uuid4()), "RequestStartTransaction", {"idToken": {"idToken": "X",
                   "type": "ISO14443"}, "remoteStartId": 1}]  # fmt: skip
            await side._connection.send(json.dumps(raw))

    return Quirks(
        prefix="",
        subprotocols=["ocpp1.6", "ocpp2.0", "ocpp2.0.1"],
        boot_interval=10,
        invalid_answer={
            "DataTransfer",
            "SecurityEventNotification",
            "FirmwareStatusNotification",
            "DiagnosticsStatusNotification",
        },
        current_time=lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f"),
        known_ids={"CP1"},
        unknown_id="close_1008",
        after=after,
    )


def smart_charging_csms() -> Quirks:
    """smart-charging-api.md: /ocpp/{id}; 1.6 only; transactionId always 1234; MeterValues
    without transactionId -> InternalError; ChargePointMax, Recurring Daily TxDefault and
    TxProfile, all in W."""

    def watts(pid: int, purpose: str, limit: float, **extra: Any) -> dict[str, Any]:
        p = _amps_profile(pid, limit)
        p["charging_profile_purpose"] = purpose
        p["charging_schedule"]["charging_rate_unit"] = "W"
        p.update(extra)
        return p

    async def after(side: CsmsSide, msg: Msg) -> None:
        if msg.action == "BootNotification":
            await side.call(
                call.SetChargingProfile(
                    connector_id=0,
                    cs_charging_profiles=watts(1, "ChargePointMaxProfile", 22080, stack_level=0),
                )
            )
            daily = watts(2, "TxDefaultProfile", 11040, charging_profile_kind="Recurring",
                          recurrency_kind="Daily")  # fmt: skip
            daily["charging_schedule"]["start_schedule"] = "2024-01-01T00:00:00Z"
            await side.call(call.SetChargingProfile(connector_id=1, cs_charging_profiles=daily))
        elif msg.action == "StartTransaction":
            tx = watts(3, "TxProfile", 7360, stack_level=2, transaction_id=1234)
            await side.call(call.SetChargingProfile(connector_id=1, cs_charging_profiles=tx))

    return Quirks(
        prefix="/ocpp",
        subprotocols=["ocpp1.6"],
        tx_ids=lambda _n: 1234,
        meter_needs_tx=True,
        boot_interval=60,
        after=after,
    )
