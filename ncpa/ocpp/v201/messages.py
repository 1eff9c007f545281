"""Neutral terms -> OCPP 2.0.1 data types: statuses, stop reasons, id tokens, meter values."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

# the core's connector status -> ConnectorStatusEnumType
CONNECTOR_STATUS = {
    "Available": "Available",
    "Preparing": "Occupied",
    "Charging": "Occupied",
    "SuspendedEV": "Occupied",
    "SuspendedEVSE": "Occupied",
    "Finishing": "Occupied",
    "Reserved": "Reserved",
    "Unavailable": "Unavailable",
    "Faulted": "Faulted",
}
# the core's connector status during a transaction -> ChargingStateEnumType
CHARGING_STATE = {
    "Charging": "Charging",
    "SuspendedEV": "SuspendedEV",
    "SuspendedEVSE": "SuspendedEVSE",
    "Preparing": "EVConnected",
    "Finishing": "EVConnected",
}
# neutral stop reason -> (stoppedReason, triggerReason) of TransactionEvent Ended
STOP = {
    "Local": ("Local", "StopAuthorized"),
    "Remote": ("Remote", "RemoteStop"),
    # the cable unplugged (EVDeparted is a parking bay sensor's, which we do not have)
    "EVDisconnected": ("EVDisconnected", "EVCommunicationLost"),
    "PowerLoss": ("PowerLoss", "AbnormalCondition"),
    "HardReset": ("ImmediateReset", "ResetCommand"),
    "SoftReset": ("ImmediateReset", "ResetCommand"),
    "Reboot": ("Reboot", "AbnormalCondition"),
    "DeAuthorized": ("DeAuthorized", "Deauthorized"),
    "EmergencyStop": ("EmergencyStop", "AbnormalCondition"),
    "UnlockCommand": ("Local", "UnlockCommand"),
    "Timeout": ("Timeout", "EVConnectTimeout"),
    "Other": ("Other", "AbnormalCondition"),
}
# a deauthorization that leaves the transaction open (TxStopPoint EVConnected): its trigger
DEAUTHORIZED_TRIGGER = {"Local": "StopAuthorized", "Remote": "RemoteStop"}
# the neutral authorization status (1.6 names) <- AuthorizationStatusEnumType
AUTH_STATUS = {
    "Accepted": "Accepted",
    "Blocked": "Blocked",
    "Expired": "Expired",
    "Invalid": "Invalid",
    "ConcurrentTx": "ConcurrentTx",
    "NoCredit": "Invalid",
    "NotAllowedTypeEVSE": "Invalid",
    "NotAtThisLocation": "Invalid",
    "NotAtThisTime": "Invalid",
    "Unknown": "Invalid",
}


def id_token(token: str, kind: str = "ISO14443") -> dict[str, Any]:
    return {"id_token": token, "type": kind}


def id_token_info(info: dict[str, Any]) -> dict[str, Any]:
    """idTokenInfo (snake_case) -> the neutral idTagInfo the cache and core keep."""
    out: dict[str, Any] = {"status": AUTH_STATUS.get(str(info.get("status")), "Invalid")}
    if info.get("cache_expiry_date_time"):
        out["expiry_date"] = info["cache_expiry_date_time"]
    group = info.get("group_id_token")
    if isinstance(group, dict) and group.get("id_token"):
        out["parent_id_tag"] = group["id_token"]
    evses = info.get("evse_id")
    if isinstance(evses, list) and evses:
        out["connectors"] = sorted({int(e) for e in evses})  # valid at these EVSEs only
    return out


def _number(text: Any) -> Any:
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        return 0
    return int(value) if value == value.to_integral_value() else float(value)


def meter_value(mv: dict[str, Any]) -> dict[str, Any]:
    """A neutral meter value (the 1.6 shape the recorder writes) -> MeterValueType."""
    samples = []
    for sv in mv.get("sampled_value", []):
        out: dict[str, Any] = {"value": _number(sv.get("value"))}
        for key in ("context", "measurand", "phase", "location"):
            if sv.get(key):
                out[key] = sv[key]
        if sv.get("unit"):
            out["unit_of_measure"] = {"unit": sv["unit"]}
        samples.append(out)
    return {"timestamp": mv["timestamp"], "sampled_value": samples}


def energy_sample(wh: float, context: str, timestamp: str) -> dict[str, Any]:
    return {
        "timestamp": timestamp,
        "sampled_value": [
            {
                "value": round(wh),
                "context": context,
                "measurand": "Energy.Active.Import.Register",
                "location": "Outlet",
                "unit_of_measure": {"unit": "Wh"},
            }
        ],
    }
