"""B The device model: components and variables of OCPP 2.0.1 Part 2 (appendix 3), over
the one settings engine.

A variable that has a setting (`setting`) reads and writes the same stored value that
1.6 knows as a configuration key: HeartbeatInterval set under 1.6 is
OCPPCommCtrlr.HeartbeatInterval under 2.0.1. A variable without one reports what the
agent is or does (`live`: the connector's availability, the TxStartPoint the core has).

Only the Actual attribute exists here: the agent keeps no targets or set limits of its own
(GetVariables/SetVariables for MinSet, MaxSet, Target: NotSupportedAttributeType).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ncpa.ocpp.settings import MEASURANDS
from ncpa.ocpp.timeutil import fmt_time
from ncpa.ocpp.v201.ids import evse_of

if TYPE_CHECKING:
    from ncpa.ocpp.context import OcppContext

VERSION = "2.0.1"


@dataclass(frozen=True)
class Variable:
    component: str
    name: str
    data_type: str  # string | decimal | integer | dateTime | boolean | OptionList | MemberList ...
    mutability: str = "ReadOnly"  # ReadOnly | ReadWrite | WriteOnly
    setting: str | None = None  # the neutral setting it reads and writes
    live: Callable[[OcppContext], str] | None = None  # the value when there is no setting
    instance: str | None = None
    evse: int | None = None
    connector: int | None = None
    component_instance: str | None = None
    unit: str | None = None
    min_limit: float | None = None
    max_limit: float | None = None
    values_list: str | None = None
    monitorable: bool = False  # N: SetVariableMonitoring may watch it

    @property
    def key(self) -> tuple[str, str | None, int | None, int | None, str, str | None]:
        return (
            self.component,
            self.component_instance,
            self.evse,
            self.connector,
            self.name,
            self.instance,
        )

    def value(self, ctx: OcppContext) -> str:
        if self.setting is not None:
            return ctx.settings.get(self.setting)
        assert self.live is not None
        return self.live(ctx)

    def component_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.component}
        if self.component_instance:
            out["instance"] = self.component_instance
        if self.evse is not None:
            out["evse"] = {"id": self.evse}
            if self.connector is not None:
                out["evse"]["connector_id"] = self.connector
        return out

    def variable_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.instance:
            out["instance"] = self.instance
        return out

    def characteristics(self, ctx: OcppContext | None = None) -> dict[str, Any]:
        """VariableCharacteristics; the limits of a setting are its KeySpec's range."""
        out: dict[str, Any] = {"data_type": self.data_type, "supports_monitoring": self.monitorable}
        spec = ctx.settings.specs.get(self.setting) if ctx and self.setting else None
        limits = {
            "min_limit": spec.minimum if spec is not None else None,
            "max_limit": spec.maximum if spec is not None else None,
        }
        for key in ("unit", "min_limit", "max_limit", "values_list"):
            value = getattr(self, key)
            if value is None:
                value = limits.get(key)
            if value is not None:
                out[key] = value
        return out


def _const(value: str) -> Callable[[OcppContext], str]:
    return lambda _ctx: value


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _available(cid: int | None) -> Callable[[OcppContext], str]:
    def read(ctx: OcppContext) -> str:
        views = ctx.station.views() if cid is None else [ctx.station.view(cid)]
        return _bool(any(v.status != "Unavailable" for v in views))

    return read


def _availability_state(cid: int | None) -> Callable[[OcppContext], str]:
    from ncpa.ocpp.v201.messages import CONNECTOR_STATUS

    def read(ctx: OcppContext) -> str:
        if cid is None:
            views = ctx.station.views()
            if all(v.status == "Unavailable" for v in views):
                return "Unavailable"
            if all(v.status == "Faulted" for v in views):
                return "Faulted"
            return "Available"
        return CONNECTOR_STATUS.get(ctx.station.view(cid).status, "Unavailable")

    return read


def _message_timeout(ctx: OcppContext) -> str:
    """The call timeout of the connection in use (its network profile's, if any)."""
    default = ctx.options.call_timeout
    network = ctx.network
    return str(round(network.message_timeout(default) if network is not None else default))


def _phases(ctx: OcppContext) -> str:
    return str(ctx.station.config.station.phases)


def _entries(ctx: OcppContext) -> str:
    return str(ctx.station.authorizer.card_count)


def _certificates(ctx: OcppContext) -> str:
    from ncpa.ocpp.certificates import ROOT_TYPES

    return str(sum(len(ctx.certs.installed(kind)) for kind in ROOT_TYPES))


def _profiles(ctx: OcppContext) -> str:
    return str(ctx.smart.count())


_CSL = ",".join(sorted(MEASURANDS))


def catalogue(ctx: OcppContext) -> list[Variable]:
    """Every variable of this charging station (EVSE-level ones once per EVSE)."""
    o = ctx.options
    st = ctx.station.config.station
    rw, ro, wo = "ReadWrite", "ReadOnly", "WriteOnly"
    i, b, s, d = "integer", "boolean", "string", "decimal"
    ml = "MemberList"
    out = [
        Variable("ChargingStation", "Available", b, live=_available(None)),
        Variable(
            "ChargingStation",
            "AvailabilityState",
            "OptionList",
            live=_availability_state(None),
            values_list="Available,Unavailable,Faulted",
        ),
        Variable("ChargingStation", "SupplyPhases", i, live=_phases),
        Variable("ChargingStation", "Model", s, live=_const(st.model)),
        Variable("ChargingStation", "VendorName", s, live=_const(st.vendor)),
        Variable("ChargingStation", "SerialNumber", s, live=_const(st.serial)),
        Variable("ChargingStation", "FirmwareVersion", s, live=lambda c: c.firmware_version),
        # OCPPCommCtrlr
        Variable("OCPPCommCtrlr", "HeartbeatInterval", i, rw, "HeartbeatInterval", unit="s"),
        Variable(
            "OCPPCommCtrlr",
            "MessageTimeout",
            i,
            ro,
            live=_message_timeout,
            instance="Default",
            unit="s",
        ),
        Variable(
            "OCPPCommCtrlr",
            "MessageAttempts",
            i,
            rw,
            "TransactionMessageAttempts",
            instance="TransactionEvent",
        ),
        Variable(
            "OCPPCommCtrlr",
            "MessageAttemptInterval",
            i,
            rw,
            "TransactionMessageRetryInterval",
            instance="TransactionEvent",
            unit="s",
        ),
        Variable(
            "OCPPCommCtrlr", "WebSocketPingInterval", i, rw, "WebSocketPingInterval", unit="s"
        ),
        Variable("OCPPCommCtrlr", "ResetRetries", i, rw, "ResetRetries"),
        Variable("OCPPCommCtrlr", "OfflineThreshold", i, rw, "OfflineThreshold", unit="s"),
        Variable(
            "OCPPCommCtrlr",
            "NetworkProfileConnectionAttempts",
            i,
            rw,
            "NetworkProfileConnectionAttempts",
        ),
        Variable(
            "OCPPCommCtrlr",
            "FileTransferProtocols",
            ml,
            live=_const("HTTP,HTTPS,FTP"),
            values_list="HTTP,HTTPS,FTP",
        ),
        Variable(
            "OCPPCommCtrlr",
            "UnlockOnEVSideDisconnect",
            b,
            live=lambda c: c.settings.get("UnlockConnectorOnEVSideDisconnect"),
        ),
        # SampledDataCtrlr
        Variable("SampledDataCtrlr", "Enabled", b, live=_const("true")),
        Variable(
            "SampledDataCtrlr",
            "TxStartedMeasurands",
            ml,
            rw,
            "TxStartedMeasurands",
            values_list=_CSL,
        ),
        Variable(
            "SampledDataCtrlr",
            "TxUpdatedMeasurands",
            ml,
            rw,
            "MeterValuesSampledData",
            values_list=_CSL,
        ),
        Variable(
            "SampledDataCtrlr", "TxUpdatedInterval", i, rw, "MeterValueSampleInterval", unit="s"
        ),
        Variable(
            "SampledDataCtrlr", "TxEndedMeasurands", ml, rw, "StopTxnSampledData", values_list=_CSL
        ),
        Variable("SampledDataCtrlr", "TxEndedInterval", i, rw, "TxEndedSampleInterval", unit="s"),
        # AlignedDataCtrlr
        Variable("AlignedDataCtrlr", "Enabled", b, live=_const("true")),
        Variable(
            "AlignedDataCtrlr", "Measurands", ml, rw, "MeterValuesAlignedData", values_list=_CSL
        ),
        Variable("AlignedDataCtrlr", "Interval", i, rw, "ClockAlignedDataInterval", unit="s"),
        Variable(
            "AlignedDataCtrlr", "TxEndedMeasurands", ml, rw, "StopTxnAlignedData", values_list=_CSL
        ),
        Variable("AlignedDataCtrlr", "TxEndedInterval", i, rw, "AlignedTxEndedInterval", unit="s"),
        # AuthCtrlr
        Variable(
            "AuthCtrlr",
            "Enabled",
            b,
            live=lambda c: _bool(c.station.authorizer.mode != "PLUGNCHARGE"),
        ),
        Variable("AuthCtrlr", "AuthorizeRemoteStart", b, rw, "AuthorizeRemoteTxRequests"),
        Variable("AuthCtrlr", "LocalAuthorizeOffline", b, rw, "LocalAuthorizeOffline"),
        Variable("AuthCtrlr", "LocalPreAuthorize", b, rw, "LocalPreAuthorize"),
        Variable("AuthCtrlr", "OfflineTxForUnknownIdEnabled", b, rw, "AllowOfflineTxForUnknownId"),
        # AuthCacheCtrlr
        Variable("AuthCacheCtrlr", "Enabled", b, rw, "AuthorizationCacheEnabled"),
        Variable("AuthCacheCtrlr", "LifeTime", i, rw, "AuthCacheLifeTime", unit="s"),
        # LocalAuthListCtrlr
        Variable("LocalAuthListCtrlr", "Enabled", b, rw, "LocalAuthListEnabled"),
        Variable(
            "LocalAuthListCtrlr",
            "Entries",
            i,
            live=_entries,
            max_limit=ctx.settings.get_int("LocalAuthListMaxLength"),
        ),
        Variable("LocalAuthListCtrlr", "ItemsPerMessage", i, ro, "SendLocalListMaxLength"),
        Variable("LocalAuthListCtrlr", "BytesPerMessage", i, live=_const(str(2**20))),
        # TxCtrlr
        Variable("TxCtrlr", "EVConnectionTimeOut", i, rw, "ConnectionTimeOut", unit="s"),
        Variable("TxCtrlr", "StopTxOnEVSideDisconnect", b, ro, "StopTransactionOnEVSideDisconnect"),
        Variable("TxCtrlr", "StopTxOnInvalidId", b, rw, "StopTransactionOnInvalidId"),
        Variable("TxCtrlr", "MaxEnergyOnInvalidId", i, rw, "MaxEnergyOnInvalidId", unit="Wh"),
        # where the core begins and ends transactions (ncpa/ocpp/v201/tx_points.py): the
        # points it can honour
        Variable(
            "TxCtrlr",
            "TxStartPoint",
            ml,
            rw,
            "TxStartPoint",
            values_list="PowerPathClosed,EVConnected,Authorized",
        ),
        Variable(
            "TxCtrlr",
            "TxStopPoint",
            ml,
            rw,
            "TxStopPoint",
            values_list="EVConnected,Authorized,PowerPathClosed",
        ),
        # SmartChargingCtrlr
        Variable("SmartChargingCtrlr", "Enabled", b, live=_const("true")),
        Variable(
            "SmartChargingCtrlr",
            "Entries",
            i,
            live=_profiles,
            instance="ChargingProfiles",
            max_limit=ctx.settings.get_int("MaxChargingProfilesInstalled"),
        ),
        Variable("SmartChargingCtrlr", "PeriodsPerSchedule", i, ro, "ChargingScheduleMaxPeriods"),
        Variable("SmartChargingCtrlr", "ProfileStackLevel", i, ro, "ChargeProfileMaxStackLevel"),
        Variable("SmartChargingCtrlr", "RateUnit", ml, live=_const("A,W"), values_list="A,W"),
        # K Smart charging: what NotifyChargingLimit tells (ncpa/ocpp/local_limits.py)
        Variable("SmartChargingCtrlr", "LimitChangeSignificance", d, rw, "LimitChangeSignificance"),
        Variable(
            "SmartChargingCtrlr",
            "NotifyChargingLimitWithSchedules",
            b,
            rw,
            "NotifyChargingLimitWithSchedules",
        ),
        # ReservationCtrlr
        Variable("ReservationCtrlr", "Enabled", b, live=_const("true")),
        Variable("ReservationCtrlr", "NonEvseSpecific", b, live=_const("false")),
        # SecurityCtrlr
        Variable("SecurityCtrlr", "SecurityProfile", i, ro, "SecurityProfile"),
        Variable(
            "SecurityCtrlr",
            "BasicAuthPassword",
            s,
            wo,
            "AuthorizationKey",
            min_limit=16,  # characters (settings.py checks them)
            max_limit=40,
        ),
        Variable("SecurityCtrlr", "OrganizationName", s, rw, "CpoName"),
        Variable("SecurityCtrlr", "Identity", s, live=_const(o.charge_point_id)),
        Variable(
            "SecurityCtrlr",
            "CertificateEntries",
            i,
            live=_certificates,
            max_limit=ctx.settings.get_int("CertificateStoreMaxLength"),
        ),
        # A Security: SignCertificate repeated while no CertificateSigned comes
        Variable("SecurityCtrlr", "CertSigningWaitMinimum", i, rw, "CertSigningWaitMinimum"),
        Variable("SecurityCtrlr", "CertSigningRepeatTimes", i, rw, "CertSigningRepeatTimes"),
        # DeviceDataCtrlr
        Variable(
            "DeviceDataCtrlr",
            "ItemsPerMessage",
            i,
            live=_const(str(MAX_GET_SET)),  # componentVariable entries per GetReport
            instance="GetReport",
        ),
        Variable(
            "DeviceDataCtrlr",
            "ItemsPerMessage",
            i,
            live=_const(str(MAX_GET_SET)),
            instance="GetVariables",
        ),
        Variable(
            "DeviceDataCtrlr",
            "ItemsPerMessage",
            i,
            live=_const(str(MAX_GET_SET)),
            instance="SetVariables",
        ),
    ]
    out += _provisioning(ctx)
    for cid in ctx.station.connector_ids:
        evse, conn = evse_of(cid)
        out += [
            Variable("EVSE", "Available", b, live=_available(cid), evse=evse),
            Variable(
                "EVSE",
                "AvailabilityState",
                "OptionList",
                live=_availability_state(cid),
                evse=evse,
                values_list="Available,Occupied,Reserved,Unavailable,Faulted",
            ),
            Variable("EVSE", "SupplyPhases", i, live=_phases, evse=evse),
            Variable(
                "EVSE",
                "Power",
                d,
                live=_const(str(round(230 * st.phases * st.absolute_max_current))),
                evse=evse,
                unit="W",
                max_limit=round(230 * st.phases * st.absolute_max_current),
            ),
            Variable("Connector", "Available", b, live=_available(cid), evse=evse, connector=conn),
            Variable(
                "Connector",
                "AvailabilityState",
                "OptionList",
                live=_availability_state(cid),
                evse=evse,
                connector=conn,
                values_list="Available,Occupied,Reserved,Unavailable,Faulted",
            ),
            Variable(
                "Connector",
                "ConnectorType",
                s,
                live=_const("sType2" if st.has_lock else "cType2"),
                evse=evse,
                connector=conn,
            ),
            Variable("Connector", "SupplyPhases", i, live=_phases, evse=evse, connector=conn),
        ]
    # N Diagnostics: the fault variables and MonitoringCtrlr (ncpa/ocpp/v201/monitoring.py)
    if ctx.monitoring is not None:
        from ncpa.ocpp.v201.monitoring import monitoring_variables

        out += monitoring_variables(ctx)
    return out


REPORT_ITEMS = 20  # variables per NotifyReport message
MAX_GET_SET = 50  # entries per GetVariables / SetVariables / GetReport request
MAX_FRAME = 4 * 2**20  # bytes of one message the websocket takes (ncpa/ocpp/connection.py)
VALUE_SIZE = 2500  # characters of a reported value (the schema's attributeValue maximum)


def _provisioning(ctx: OcppContext) -> list[Variable]:
    """B Provisioning: what the device model must have beyond the blocks above."""
    from ncpa.ocpp.v201.network_profile import ACTIVE_SLOT_KEY, PRIORITY_KEY

    i, rw, ro = "integer", "ReadWrite", "ReadOnly"
    per_message = [
        Variable(
            "DeviceDataCtrlr", "BytesPerMessage", i, live=_const(str(MAX_FRAME)), instance=name
        )
        for name in ("GetReport", "GetVariables", "SetVariables")
    ]
    return [
        *per_message,
        Variable("DeviceDataCtrlr", "ReportingValueSize", i, live=_const(str(VALUE_SIZE))),
        # the reconnect backoff (ncpa/ocpp/backoff.py RetryBackOff), defaults from the
        # config file's backoff_min / backoff_max
        Variable(
            "OCPPCommCtrlr", "RetryBackOffWaitMinimum", i, rw, "RetryBackOffWaitMinimum", unit="s"
        ),
        Variable("OCPPCommCtrlr", "RetryBackOffRepeatTimes", i, rw, "RetryBackOffRepeatTimes"),
        Variable(
            "OCPPCommCtrlr", "RetryBackOffRandomRange", i, rw, "RetryBackOffRandomRange", unit="s"
        ),
        Variable(
            "OCPPCommCtrlr",
            "NetworkConfigurationPriority",
            "SequenceList",
            rw,
            PRIORITY_KEY,
        ),
        Variable("OCPPCommCtrlr", "ActiveNetworkProfile", i, ro, ACTIVE_SLOT_KEY),
        Variable("ClockCtrlr", "DateTime", "dateTime", live=lambda _c: fmt_time(time.time())),
        Variable(
            "ClockCtrlr",
            "TimeSource",
            "SequenceList",
            live=_const("NTP,Heartbeat"),
            values_list="NTP,Heartbeat",
        ),
    ]


@dataclass
class DeviceModel:
    """Get, set and report variables; the catalogue is built once per connection."""

    ctx: OcppContext
    variables: list[Variable] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.variables = catalogue(self.ctx)

    def find(
        self, component: dict[str, Any], variable: dict[str, Any]
    ) -> tuple[str, Variable | None]:
        """("", var) when found; else the status: UnknownComponent / UnknownVariable."""
        name = component.get("name")
        evse = component.get("evse") or {}
        c_inst = component.get("instance")
        matches = [
            v
            for v in self.variables
            if v.component == name
            and v.component_instance == c_inst
            and v.evse == evse.get("id")
            and (
                v.connector == evse.get("connector_id")
                or (v.connector is None and "connector_id" not in evse)
            )
        ]
        if not matches:
            return "UnknownComponent", None
        v_name, v_inst = variable.get("name"), variable.get("instance")
        for v in matches:
            if v.name == v_name and v.instance == v_inst:
                return "", v
        return "UnknownVariable", None

    def get(self, entry: dict[str, Any]) -> dict[str, Any]:
        """One GetVariableData -> GetVariableResult (snake_case)."""
        attribute = entry.get("attribute_type") or "Actual"
        out: dict[str, Any] = {
            "component": entry["component"],
            "variable": entry["variable"],
            "attribute_type": attribute,
        }
        status, var = self.find(entry["component"], entry["variable"])
        if var is None:
            _refuse(out, status, "NotFound")
        elif attribute != "Actual":
            _refuse(out, "NotSupportedAttributeType", "OnlyActual")
        elif var.mutability == "WriteOnly":
            _refuse(out, "Rejected", "WriteOnly")
        else:
            out["attribute_status"] = "Accepted"
            out["attribute_value"] = var.value(self.ctx)[:VALUE_SIZE]
        return out

    async def set(self, entry: dict[str, Any]) -> dict[str, Any]:
        """One SetVariableData -> SetVariableResult (snake_case)."""
        attribute = entry.get("attribute_type") or "Actual"
        out: dict[str, Any] = {
            "component": entry["component"],
            "variable": entry["variable"],
            "attribute_type": attribute,
        }
        status, var = self.find(entry["component"], entry["variable"])
        if var is None:
            return _refuse(out, status, "NotFound")
        if attribute != "Actual":
            return _refuse(out, "NotSupportedAttributeType", "OnlyActual")
        if var.mutability == "ReadOnly" or var.setting is None:
            out["attribute_status"] = "Rejected"
            out["attribute_status_info"] = {"reason_code": "ReadOnly"}
            return out
        value = str(entry["attribute_value"])
        if var.data_type == "MemberList":
            value = ",".join(p.strip() for p in value.split(",") if p.strip())
        answer = await self.ctx.settings.change(var.setting, value, version=VERSION)
        out["attribute_status"] = {
            "Accepted": "Accepted",
            "RebootRequired": "RebootRequired",
        }.get(answer, "Rejected")
        if out["attribute_status"] == "Rejected":
            out["attribute_status_info"] = {"reason_code": "InvalidValue"}
        return out

    def report_data(self, var: Variable) -> dict[str, Any]:
        attribute: dict[str, Any] = {
            "type": "Actual",
            "mutability": var.mutability,
            "persistent": var.setting is not None,
            "constant": var.mutability == "ReadOnly"
            and var.setting is None
            and var.live is not None
            and var.name in _CONSTANT,
        }
        if var.mutability != "WriteOnly":
            attribute["value"] = var.value(self.ctx)[:VALUE_SIZE]
        return {
            "component": var.component_json(),
            "variable": var.variable_json(),
            "variable_attribute": [attribute],
            "variable_characteristics": var.characteristics(self.ctx),
        }

    def select(
        self,
        base: str | None = None,
        criteria: list[str] | None = None,
        wanted: list[dict[str, Any]] | None = None,
    ) -> list[Variable]:
        """The variables of a base report, or of GetReport's filters."""
        found = self.variables
        if base == "ConfigurationInventory":
            found = [v for v in found if v.mutability != "ReadOnly"]
        elif base == "SummaryInventory":
            found = [v for v in found if v.name in ("AvailabilityState", "Available")]
        if criteria:
            found = [v for v in found if _meets(v, criteria, self.ctx)]
        if wanted:
            found = [v for v in found if any(_named(v, w) for w in wanted)]
        return found


def _refuse(out: dict[str, Any], status: str, reason: str) -> dict[str, Any]:
    """A Get/SetVariableResult that is not Accepted, with why (attributeStatusInfo)."""
    out["attribute_status"] = status
    out["attribute_status_info"] = {"reason_code": reason}
    return out


_CONSTANT = {"Model", "VendorName", "SerialNumber", "SupplyPhases", "ConnectorType", "Identity"}


def _meets(var: Variable, criteria: list[str], ctx: OcppContext) -> bool:
    """ComponentCriterionEnumType: Active, Available, Enabled, Problem (any of them)."""
    for criterion in criteria:
        if criterion in ("Active", "Available", "Enabled"):
            return True  # every component here is present, enabled and in use
        problem = criterion == "Problem" and var.name == "AvailabilityState"
        if problem and var.value(ctx) == "Faulted":
            return True
    return False


def _named(var: Variable, wanted: dict[str, Any]) -> bool:
    component = wanted.get("component") or {}
    if component.get("name") != var.component:
        return False
    evse = component.get("evse") or {}
    if evse and evse.get("id") != var.evse:
        return False
    if "connector_id" in evse and evse["connector_id"] != var.connector:
        return False
    if component.get("instance") and component["instance"] != var.component_instance:
        return False
    variable = wanted.get("variable")
    if not variable:
        return True
    if variable.get("name") != var.name:
        return False
    return not variable.get("instance") or variable["instance"] == var.instance
