"""K Smart charging: SetChargingProfile (ChargingStationMaxProfile, TxDefaultProfile,
TxProfile; A or W), ClearChargingProfile, GetChargingProfiles + ReportChargingProfiles,
GetCompositeSchedule: the same profile engine and `csms` limit source as 1.6, keyed by EVSE.

2.0.1's profile differs from 1.6's in names and in holding a list of schedules (more than
one only for ISO 15118 negotiation, which a socket charger does not do): `to_engine`
turns it into the engine's shape, and `from_engine` back.
"""

from __future__ import annotations

from typing import Any

from ocpp.v201 import call, call_result

from ncpa.log import get_logger
from ncpa.ocpp.routing import on
from ncpa.ocpp.v201.base import Block
from ncpa.ocpp.v201.ids import connector_of

log = get_logger(__name__)

_PURPOSE = {
    "ChargingStationMaxProfile": "ChargePointMaxProfile",
    "TxDefaultProfile": "TxDefaultProfile",
    "TxProfile": "TxProfile",
}
_PURPOSE_BACK = {v: k for k, v in _PURPOSE.items()}


def to_engine(profile: dict[str, Any]) -> dict[str, Any]:
    """A 2.0.1 ChargingProfileType (snake_case) -> the engine's (1.6-shaped) payload.
    Raises ValueError for what this charger cannot do."""
    purpose = _PURPOSE.get(str(profile["charging_profile_purpose"]))
    if purpose is None:
        raise ValueError(f"purpose {profile['charging_profile_purpose']} is not supported")
    schedules = profile["charging_schedule"]
    if len(schedules) != 1:
        raise ValueError("one charging schedule per profile (no ISO 15118 here)")
    s = schedules[0]
    schedule: dict[str, Any] = {
        "charging_rate_unit": s["charging_rate_unit"],
        "charging_schedule_period": [
            {k: p[k] for k in ("start_period", "limit", "number_phases") if k in p}
            for p in s["charging_schedule_period"]
        ],
    }
    for key in ("duration", "start_schedule", "min_charging_rate"):
        if s.get(key) is not None:
            schedule[key] = s[key]
    out: dict[str, Any] = {
        "charging_profile_id": int(profile["id"]),
        "stack_level": int(profile["stack_level"]),
        "charging_profile_purpose": purpose,
        "charging_profile_kind": profile["charging_profile_kind"],
        "charging_schedule": schedule,
    }
    for key in ("recurrency_kind", "valid_from", "valid_to", "transaction_id"):
        if profile.get(key) is not None:
            out[key] = profile[key]
    return out


class SmartChargingBlock(Block):
    def _connector(self, evse_id: int) -> int | None:
        if evse_id == 0:
            return 0
        return connector_of(self.ctx.station, evse_id)

    @on("SetChargingProfile")
    async def on_set_charging_profile(
        self, evse_id: int, charging_profile: dict[str, Any], **_: Any
    ) -> call_result.SetChargingProfile:
        cid = self._connector(evse_id)
        if cid is None:
            return _rejected(call_result.SetChargingProfile, "UnknownEVSE")
        purpose = charging_profile.get("charging_profile_purpose")
        if purpose == "ChargingStationMaxProfile" and evse_id != 0:
            return _rejected(call_result.SetChargingProfile, "MaxProfileOnEvse0")
        if purpose == "TxProfile" and evse_id == 0:
            return _rejected(call_result.SetChargingProfile, "TxProfileOnEvse0")
        try:
            payload = to_engine(charging_profile)
        except (KeyError, ValueError) as e:
            log.info("ocpp.profile.rejected", evse=evse_id, reason=str(e))
            return _rejected(call_result.SetChargingProfile, "Unsupported")
        status = await self.ctx.smart.set_profile(cid, payload)
        return call_result.SetChargingProfile(status=status)

    @on("ClearChargingProfile")
    async def on_clear_charging_profile(
        self,
        charging_profile_id: int | None = None,
        charging_profile_criteria: dict[str, Any] | None = None,
        **_: Any,
    ) -> call_result.ClearChargingProfile:
        c = charging_profile_criteria or {}
        cid = None
        if c.get("evse_id") is not None:
            cid = self._connector(int(c["evse_id"]))
            if cid is None:
                return call_result.ClearChargingProfile(status="Unknown")
        purpose = c.get("charging_profile_purpose")
        status = await self.ctx.smart.clear(
            charging_profile_id,
            cid,
            _PURPOSE.get(purpose) if purpose else None,
            c.get("stack_level"),
        )
        return call_result.ClearChargingProfile(status=status)

    @on("GetCompositeSchedule")
    async def on_get_composite_schedule(
        self, duration: int, evse_id: int, charging_rate_unit: str | None = None, **_: Any
    ) -> call_result.GetCompositeSchedule:
        cid = self._connector(evse_id)
        result = (
            None if cid is None else self.ctx.smart.composite(cid, duration, charging_rate_unit)
        )
        if result is None:
            return call_result.GetCompositeSchedule(status="Rejected")
        s = result["charging_schedule"]
        schedule = {
            "evse_id": evse_id,
            "duration": int(s.get("duration") or duration),
            "schedule_start": result["schedule_start"],
            "charging_rate_unit": s["charging_rate_unit"],
            "charging_schedule_period": s["charging_schedule_period"],
        }
        return call_result.GetCompositeSchedule(status="Accepted", schedule=schedule)

    @on("GetChargingProfiles")
    async def on_get_charging_profiles(
        self,
        request_id: int,
        charging_profile: dict[str, Any],
        evse_id: int | None = None,
        **_: Any,
    ) -> call_result.GetChargingProfiles:
        smart = self.ctx.smart
        cid = None if evse_id is None else self._connector(evse_id)
        if evse_id is not None and cid is None:
            return call_result.GetChargingProfiles(status="NoProfiles")
        purpose = charging_profile.get("charging_profile_purpose")
        found = smart.installed(
            connector_id=cid,
            purpose=_PURPOSE.get(purpose) if purpose else None,
            stack_level=charging_profile.get("stack_level"),
            ids=charging_profile.get("charging_profile_id"),
        )
        if not found:
            return call_result.GetChargingProfiles(status="NoProfiles")
        self.after_reply(self._report_profiles(request_id, found))
        return call_result.GetChargingProfiles(status="Accepted")

    async def _report_profiles(
        self, request_id: int, found: list[tuple[int, dict[str, Any]]]
    ) -> None:
        """ReportChargingProfiles, one message per EVSE (tbc on all but the last)."""
        by_evse: dict[int, list[dict[str, Any]]] = {}
        for cid, profile in found:
            by_evse.setdefault(cid, []).append(from_engine(profile))
        items = sorted(by_evse.items())
        for n, (evse, profiles) in enumerate(items):
            await self.ctx.ops.try_send(
                call.ReportChargingProfiles(
                    request_id=request_id,
                    charging_limit_source="CSO",
                    charging_profile=profiles,
                    evse_id=evse,
                    tbc=n < len(items) - 1,
                )
            )


def from_engine(p: dict[str, Any]) -> dict[str, Any]:
    """The engine's (1.6-shaped) payload -> a 2.0.1 ChargingProfileType."""
    s = dict(p["charging_schedule"])
    schedule = {"id": int(p["charging_profile_id"]), **s}
    out: dict[str, Any] = {
        "id": int(p["charging_profile_id"]),
        "stack_level": int(p["stack_level"]),
        "charging_profile_purpose": _PURPOSE_BACK[p["charging_profile_purpose"]],
        "charging_profile_kind": p["charging_profile_kind"],
        "charging_schedule": [schedule],
    }
    for key in ("recurrency_kind", "valid_from", "valid_to"):
        if p.get(key) is not None:
            out[key] = p[key]
    if p.get("transaction_id") is not None:
        out["transaction_id"] = str(p["transaction_id"])
    return out


def _rejected(cls: Any, reason: str) -> Any:
    return cls(status="Rejected", status_info={"reason_code": reason})
