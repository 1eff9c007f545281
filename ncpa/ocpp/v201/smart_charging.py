"""K Smart charging: SetChargingProfile (ChargingStationMaxProfile, TxDefaultProfile,
TxProfile; A or W), ClearChargingProfile, GetChargingProfiles + ReportChargingProfiles,
GetCompositeSchedule: the same profile engine and `csms` limit source as 1.6, keyed by EVSE
(EVSE n is the core's connector n; EVSE 0 is the station).

2.0.1's profile differs from 1.6's in names and in holding a list of schedules (more than
one only for ISO 15118 negotiation, which a socket charger does not do): `to_engine`
turns it into the engine's shape, and `from_engine` back. `problem` holds the 2.0.1 rules
that 1.6 does not have (K01): a TxProfile names its transaction, Absolute and Recurring
schedules have a startSchedule, two profiles of one purpose and stack level on one EVSE
may not be valid at the same time, a TxDefaultProfile's stack level is used either on
EVSE 0 or on EVSEs, not both; the engine checks the rest (periods, kinds, capacity).
"""

from __future__ import annotations

import math
from typing import Any

from ocpp.v201 import call, call_result

from ncpa.energy.charging_profiles import ChargingProfile
from ncpa.log import get_logger
from ncpa.ocpp.routing import on
from ncpa.ocpp.timeutil import fmt_time, parse_time
from ncpa.ocpp.v201 import transactions
from ncpa.ocpp.v201.base import Block
from ncpa.ocpp.v201.ids import connector_of

log = get_logger(__name__)

_PURPOSE = {
    "ChargingStationMaxProfile": "ChargePointMaxProfile",
    "TxDefaultProfile": "TxDefaultProfile",
    "TxProfile": "TxProfile",
}
_PURPOSE_BACK = {v: k for k, v in _PURPOSE.items()}
SOURCE = "CSO"  # every profile here came from the CSMS (SetChargingProfile)


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
        "id": s.get("id"),
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


def from_engine(p: ChargingProfile, prefix: str) -> dict[str, Any]:
    """An installed profile -> a 2.0.1 ChargingProfileType (snake_case), as it was set
    (an Absolute profile sent without a startSchedule reports the time it was installed)."""
    s = p.schedule
    schedule: dict[str, Any] = {
        "id": s.schedule_id if s.schedule_id is not None else p.id,
        "charging_rate_unit": s.charging_rate_unit,
        "charging_schedule_period": [
            {"start_period": q.start_period, "limit": q.limit}
            | ({} if q.number_phases is None else {"number_phases": q.number_phases})
            for q in s.periods
        ],
    }
    if s.start_schedule is not None:
        schedule["start_schedule"] = fmt_time(s.start_schedule)
    if s.duration is not None:
        schedule["duration"] = s.duration
    if s.min_charging_rate is not None:
        schedule["min_charging_rate"] = s.min_charging_rate
    out: dict[str, Any] = {
        "id": p.id,
        "stack_level": p.stack_level,
        "charging_profile_purpose": _PURPOSE_BACK[p.purpose],
        "charging_profile_kind": p.kind,
        "charging_schedule": [schedule],
    }
    if p.recurrency is not None:
        out["recurrency_kind"] = p.recurrency
    if p.valid_from is not None:
        out["valid_from"] = fmt_time(p.valid_from)
    if p.valid_to is not None:
        out["valid_to"] = fmt_time(p.valid_to)
    if p.transaction_id is not None:
        out["transaction_id"] = transactions.transaction_id(prefix, p.transaction_id)
    return out


def schedule_problem(profile: dict[str, Any]) -> str | None:
    """The reasonCode of a schedule this charger refuses (K01), or None."""
    kind = profile.get("charging_profile_kind")
    for s in profile.get("charging_schedule") or []:
        has_start = s.get("start_schedule") is not None
        if kind in ("Absolute", "Recurring") and not has_start:
            return "NoStartSchedule"  # K01.FR.40
        if kind == "Relative" and has_start:
            return "StartScheduleSet"  # K01.FR.41
        for period in s.get("charging_schedule_period") or []:
            if period.get("phase_to_use") is not None:
                # K01.FR.19/20: only with numberPhases 1 and AC phase switching, not here
                return "PhaseToUse"
    return None


def _validity(p: dict[str, Any]) -> tuple[float, float]:
    lo = parse_time(str(p["valid_from"])) if p.get("valid_from") else -math.inf
    hi = parse_time(str(p["valid_to"])) if p.get("valid_to") else math.inf
    return lo, hi


class SmartChargingBlock(Block):
    def _connector(self, evse_id: int) -> int | None:
        if evse_id == 0:
            return 0
        return connector_of(self.ctx.station, evse_id)

    def problem(self, evse_id: int, cid: int, profile: dict[str, Any]) -> str | None:
        """The reasonCode of a profile the 2.0.1 rules refuse on that EVSE, or None."""
        purpose = profile.get("charging_profile_purpose")
        if purpose not in _PURPOSE:
            return "UnsupportedPurpose"  # ChargingStationExternalConstraints: ours, not the CSMS's
        if purpose == "ChargingStationMaxProfile" and evse_id != 0:
            return "MaxProfileOnEvse"
        found = schedule_problem(profile)
        if found is not None:
            return found
        try:
            lo, hi = _validity(profile)
        except ValueError:
            return "InvalidValidity"
        smart = self.ctx.smart
        pid, level = int(profile["id"]), int(profile["stack_level"])
        if purpose == "TxProfile":
            if evse_id == 0:
                return "TxProfileOnEvse0"  # K01.FR.16
            tx_id = profile.get("transaction_id")
            if not tx_id:
                return "NoTransactionId"  # K01.FR.03
            tx = self.ctx.station.view(cid).transaction
            if tx is None:
                return "NoTransaction"  # K01.FR.09
            if transactions.local_id(self.ctx.instance_id, str(tx_id)) != tx.id:
                return "TxNotOnEvse"  # K01.FR.33
            for other in smart.matching(cid, "TxProfile", level):
                if other.id != pid and other.transaction_id == tx.id:
                    return "TxStackLevelUsed"  # K01.FR.39
            return None
        if purpose == "TxDefaultProfile":
            # K01.FR.52/53: a stack level is either station-wide or per EVSE
            others = smart.matching(purpose="TxDefaultProfile", stack_level=level)
            if any(o.id != pid and (o.connector_id == 0) != (cid == 0) for o in others):
                return "DuplicateTxDefault"
        for other in smart.matching(cid, _PURPOSE[purpose], level):
            o_lo = other.valid_from if other.valid_from is not None else -math.inf
            o_hi = other.valid_to if other.valid_to is not None else math.inf
            if other.id != pid and lo < o_hi and o_lo < hi:
                return "DuplicateProfile"  # K01.FR.06: one in force per level and purpose
        return None

    @on("SetChargingProfile")
    async def on_set_charging_profile(
        self, evse_id: int, charging_profile: dict[str, Any], **_: Any
    ) -> call_result.SetChargingProfile:
        cid = self._connector(evse_id)
        if cid is None:
            return _rejected(call_result.SetChargingProfile, "UnknownEVSE")
        reason = self.problem(evse_id, cid, charging_profile)
        if reason is not None:
            log.info("ocpp.profile.rejected", evse=evse_id, reason=reason)
            return _rejected(call_result.SetChargingProfile, reason)
        try:
            payload = to_engine(charging_profile)
        except (KeyError, ValueError) as e:
            log.info("ocpp.profile.rejected", evse=evse_id, reason=str(e))
            return _rejected(call_result.SetChargingProfile, "Unsupported")
        local_ids = {}
        tx_id = charging_profile.get("transaction_id")
        local = transactions.local_id(self.ctx.instance_id, str(tx_id)) if tx_id else None
        if tx_id and local is not None:
            local_ids[str(tx_id)] = local
        refused = await self.ctx.smart.install(
            cid, payload, local_ids=local_ids, replace_same_level=False
        )
        if refused is not None:
            return _rejected(call_result.SetChargingProfile, "InvalidProfile", refused)
        return call_result.SetChargingProfile(status="Accepted")

    @on("ClearChargingProfile")
    async def on_clear_charging_profile(
        self,
        charging_profile_id: int | None = None,
        charging_profile_criteria: dict[str, Any] | None = None,
        **_: Any,
    ) -> call_result.ClearChargingProfile:
        c = charging_profile_criteria or {}
        cid = None
        if charging_profile_id is None:
            if c.get("evse_id") is not None:
                cid = self._connector(int(c["evse_id"]))
                if cid is None:
                    return call_result.ClearChargingProfile(status="Unknown")
            purpose = c.get("charging_profile_purpose")
            if purpose is not None and purpose not in _PURPOSE:
                # ChargingStationExternalConstraints are not the CSMS's to clear (K10)
                return call_result.ClearChargingProfile(status="Unknown")
        else:
            purpose = None  # with an id, only that profile: the criteria do not matter
        status = await self.ctx.smart.clear(
            charging_profile_id,
            cid,
            _PURPOSE.get(purpose) if purpose else None,
            c.get("stack_level") if charging_profile_id is None else None,
        )
        return call_result.ClearChargingProfile(status=status)

    @on("GetCompositeSchedule")
    async def on_get_composite_schedule(
        self, duration: int, evse_id: int, charging_rate_unit: str | None = None, **_: Any
    ) -> call_result.GetCompositeSchedule:
        cid = self._connector(evse_id)
        if cid is None:
            return _rejected(call_result.GetCompositeSchedule, "UnknownEVSE")
        result = self.ctx.smart.composite(cid, duration, charging_rate_unit)
        s = result["charging_schedule"] if result is not None else None
        if result is None or s is None or not s["charging_schedule_period"]:
            return _rejected(call_result.GetCompositeSchedule, "NoSchedule")
        schedule = {
            "evse_id": evse_id,
            "duration": int(s.get("duration") or 0),
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
        criteria = charging_profile
        cid = None if evse_id is None else self._connector(evse_id)
        purpose = criteria.get("charging_profile_purpose")
        sources = criteria.get("charging_limit_source")
        if (
            (evse_id is not None and cid is None)
            or (purpose is not None and purpose not in _PURPOSE)
            or (sources and SOURCE not in sources)
        ):
            return call_result.GetChargingProfiles(status="NoProfiles")
        found = self.ctx.smart.matching(
            connector_id=cid,
            purpose=_PURPOSE[purpose] if purpose else None,
            stack_level=criteria.get("stack_level"),
            ids=criteria.get("charging_profile_id"),
        )
        if not found:
            return call_result.GetChargingProfiles(status="NoProfiles")
        self.after_reply(self._report_profiles(request_id, found))
        return call_result.GetChargingProfiles(status="Accepted")

    async def _report_profiles(self, request_id: int, found: list[ChargingProfile]) -> None:
        """ReportChargingProfiles, one message per EVSE (tbc on all but the last)."""
        by_evse: dict[int, list[dict[str, Any]]] = {}
        for p in found:
            by_evse.setdefault(p.connector_id, []).append(from_engine(p, self.ctx.instance_id))
        items = sorted(by_evse.items())
        for n, (evse, profiles) in enumerate(items):
            await self.ctx.ops.try_send(
                call.ReportChargingProfiles(
                    request_id=request_id,
                    charging_limit_source=SOURCE,
                    charging_profile=profiles,
                    evse_id=evse,
                    tbc=n < len(items) - 1,
                )
            )


def _rejected(cls: Any, reason: str, info: str | None = None) -> Any:
    status_info: dict[str, Any] = {"reason_code": reason[:20]}
    if info:
        status_info["additional_info"] = info[:512]
    return cls(status="Rejected", status_info=status_info)
