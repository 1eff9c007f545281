"""Connector statuses, faults and stop reasons, with their OCPP 1.6 names."""

from __future__ import annotations

import enum


class ConnectorStatus(enum.StrEnum):
    AVAILABLE = "Available"
    PREPARING = "Preparing"
    CHARGING = "Charging"
    SUSPENDED_EV = "SuspendedEV"
    SUSPENDED_EVSE = "SuspendedEVSE"
    FINISHING = "Finishing"
    RESERVED = "Reserved"
    UNAVAILABLE = "Unavailable"
    FAULTED = "Faulted"


class Fault(enum.StrEnum):
    RCD = "rcd"
    WELDED_CONTACTOR = "welded_contactor"
    CONTACTOR_FAILURE = "contactor_failure"  # commanded closed, feedback stays open
    LOCK_FAILURE = "lock_failure"
    METER_FAILURE = "meter_failure"
    EVCC_LINK_LOST = "evcc_link_lost"
    PILOT_FAULT = "pilot_fault"  # pilot in state E/F or diode check failed
    EVCC_OTHER = "evcc_other"
    INTERNAL = "internal_error"  # the controller itself failed; cleared on unplug
    POWER_LOST = "power_lost"  # the shunt tripped the breaker; cleared when voltage returns


# OCPP 1.6 ChargePointErrorCode per fault; the first active fault in this order is reported
ERROR_CODES: dict[Fault, str] = {
    Fault.WELDED_CONTACTOR: "PowerSwitchFailure",
    Fault.RCD: "GroundFailure",
    Fault.CONTACTOR_FAILURE: "PowerSwitchFailure",
    Fault.LOCK_FAILURE: "ConnectorLockFailure",
    Fault.METER_FAILURE: "PowerMeterFailure",
    Fault.EVCC_LINK_LOST: "InternalError",
    Fault.PILOT_FAULT: "EVCommunicationError",
    Fault.EVCC_OTHER: "OtherError",
    Fault.INTERNAL: "InternalError",
    Fault.POWER_LOST: "UnderVoltage",
}


class StopReason(enum.StrEnum):
    """Why a transaction ended, in neutral terms (named as OCPP 1.6 names them; the 2.0.1
    adapter maps each onto its ReasonEnumType and TriggerReasonEnumType)."""

    LOCAL = "Local"
    REMOTE = "Remote"
    EV_DISCONNECTED = "EVDisconnected"
    POWER_LOSS = "PowerLoss"
    HARD_RESET = "HardReset"
    SOFT_RESET = "SoftReset"
    REBOOT = "Reboot"
    DE_AUTHORIZED = "DeAuthorized"
    EMERGENCY_STOP = "EmergencyStop"
    UNLOCK_COMMAND = "UnlockCommand"
    TIMEOUT = "Timeout"  # begun at the authorization, no EV within the connection timeout
    OTHER = "Other"


class AuthMode(enum.StrEnum):
    PLUGNCHARGE = "PLUGNCHARGE"
    WHITELIST = "WHITELIST"


class LockMode(enum.StrEnum):
    UNLOCKED = "UNLOCKED"  # locked while a transaction runs; released when it ends or on unplug
    TRANSACTION = "TRANSACTION"  # held until an authorized stop, even after the EV unplugs
    LOCKED = "LOCKED"  # always locked, like a tethered cable


def error_code(faults: frozenset[Fault]) -> str:
    for fault, code in ERROR_CODES.items():
        if fault in faults:
            return code
    return "NoError"
