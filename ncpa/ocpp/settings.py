"""OCPP configuration keys (GetConfiguration / ChangeConfiguration), persisted in SQLite.

The CSMS and the local API see the same values: both go through `OcppSettings.change`,
which checks the type and range, refuses read-only keys, and answers
"Accepted" | "Rejected" | "RebootRequired" | "NotSupported" like the OCPP message does.
Only values that differ from the defaults are stored (table `ocpp_config`).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace

from ncpa.log import get_logger
from ncpa.store import Store

log = get_logger(__name__)

MEASURANDS = frozenset(
    {
        "Energy.Active.Import.Register",
        "Power.Active.Import",
        "Current.Import",
        "Current.Offered",
        "Voltage",
    }
)


HOUR, DAY = 3600, 86400
INT32_MAX = 2**31 - 1
_INTEGER = re.compile(r"-?[0-9]{1,10}")  # plain ASCII decimal: no "1_0", " 10" or other digits


@dataclass(frozen=True)
class KeySpec:
    name: str
    kind: str  # int | bool | str | csl (comma separated list)
    default: str
    readonly: bool = False
    reboot: bool = False  # a change takes effect after a reboot (RebootRequired)
    minimum: int | None = None
    maximum: int | None = None
    choices: frozenset[str] | None = None  # for csl: allowed items
    secret: bool = False  # write-only (AuthorizationKey): never reported
    only: str | None = None  # the one version that has it ("2.0.1"); None: both


# what the charging core can honour of TxCtrlr's points (ncpa/ocpp/v201/tx_points.py)
_TX_START = frozenset({"EVConnected", "Authorized", "PowerPathClosed"})
_TX_STOP = frozenset({"EVConnected", "Authorized", "PowerPathClosed"})


def _specs(connectors: int) -> list[KeySpec]:
    b, i, c, s = "bool", "int", "csl", "str"
    return [
        # Core
        KeySpec("AllowOfflineTxForUnknownId", b, "false"),
        KeySpec("AuthorizationCacheEnabled", b, "true"),
        KeySpec("AuthorizeRemoteTxRequests", b, "true"),
        KeySpec("ClockAlignedDataInterval", i, "0", minimum=0, maximum=DAY),
        # seconds an authorization waits for a plug (the core's PendingAuth); 0 would
        # cancel every authorization given before the plug, so at least 1
        KeySpec("ConnectionTimeOut", i, "60", minimum=1, maximum=HOUR),
        KeySpec("ConnectorPhaseRotation", c, "NotApplicable"),
        KeySpec("ConnectorPhaseRotationMaxLength", i, str(connectors + 1), readonly=True),
        KeySpec("GetConfigurationMaxKeys", i, "100", readonly=True),
        KeySpec("HeartbeatInterval", i, "300", minimum=0, maximum=DAY),
        KeySpec("LocalAuthorizeOffline", b, "true"),
        KeySpec("LocalPreAuthorize", b, "true"),
        KeySpec("MeterValuesAlignedData", c, "Energy.Active.Import.Register", choices=MEASURANDS),
        KeySpec("MeterValuesAlignedDataMaxLength", i, "5", readonly=True),
        KeySpec("MeterValuesSampledData", c, "Energy.Active.Import.Register", choices=MEASURANDS),
        KeySpec("MeterValuesSampledDataMaxLength", i, "5", readonly=True),
        KeySpec("MeterValueSampleInterval", i, "60", minimum=0, maximum=DAY),
        KeySpec("MinimumStatusDuration", i, "0", minimum=0, maximum=HOUR),
        KeySpec("NumberOfConnectors", i, str(connectors), readonly=True),
        KeySpec("ResetRetries", i, "1", minimum=0, maximum=10),
        # the charging core decides these two; the client reports what it applies (`live`)
        KeySpec("StopTransactionOnEVSideDisconnect", b, "true", readonly=True),
        KeySpec("StopTransactionOnInvalidId", b, "true"),
        KeySpec("StopTxnAlignedData", c, "", choices=MEASURANDS),
        KeySpec("StopTxnAlignedDataMaxLength", i, "5", readonly=True),
        KeySpec("StopTxnSampledData", c, "", choices=MEASURANDS),
        KeySpec("StopTxnSampledDataMaxLength", i, "5", readonly=True),
        KeySpec(
            "SupportedFeatureProfiles",
            c,
            "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,"
            "RemoteTrigger",
            readonly=True,
        ),
        KeySpec("SupportedFeatureProfilesMaxLength", i, "6", readonly=True),
        KeySpec("TransactionMessageAttempts", i, "3", minimum=1, maximum=100),
        KeySpec("TransactionMessageRetryInterval", i, "60", minimum=0, maximum=DAY),
        KeySpec("UnlockConnectorOnEVSideDisconnect", b, "true", readonly=True),
        # a new ping interval applies to the next connection only
        KeySpec("WebSocketPingInterval", i, "60", minimum=0, maximum=HOUR, reboot=True),
        # LocalAuthListManagement
        KeySpec("LocalAuthListEnabled", b, "true"),
        KeySpec("LocalAuthListMaxLength", i, "10000", readonly=True),
        KeySpec("SendLocalListMaxLength", i, "1000", readonly=True),
        # Reservation
        KeySpec("ReserveConnectorZeroSupported", b, "false", readonly=True),
        # SmartCharging
        KeySpec("ChargeProfileMaxStackLevel", i, "10", readonly=True),
        KeySpec("ChargingScheduleAllowedChargingRateUnit", c, "Current,Power", readonly=True),
        KeySpec("ChargingScheduleMaxPeriods", i, "48", readonly=True),
        KeySpec("ConnectorSwitch3to1PhaseSupported", b, "false", readonly=True),
        KeySpec("MaxChargingProfilesInstalled", i, "32", readonly=True),
        # Security whitepaper
        KeySpec("AdditionalRootCertificateCheck", b, "false", readonly=True),
        KeySpec("AuthorizationKey", s, "", secret=True),
        KeySpec("CertificateSignedMaxChainSize", i, "10000", readonly=True),
        KeySpec("CertificateStoreMaxLength", i, "20", readonly=True),
        # no CertificateSigned after a SignCertificate: ask again after this many seconds,
        # twice as long each time, at most CertSigningRepeatTimes times
        KeySpec("CertSigningWaitMinimum", i, "60", minimum=1, maximum=DAY),
        KeySpec("CertSigningRepeatTimes", i, "3", minimum=0, maximum=10),
        KeySpec("CpoName", s, ""),
        KeySpec("SecurityProfile", i, "0", minimum=0, maximum=3),
        # settings only 2.0.1 has (its device model names them; 1.6 does not see them)
        KeySpec("TxStartedMeasurands", c, "", choices=MEASURANDS, only="2.0.1"),
        KeySpec("TxEndedSampleInterval", i, "0", minimum=0, maximum=DAY, only="2.0.1"),
        KeySpec("AlignedTxEndedInterval", i, "0", minimum=0, maximum=DAY, only="2.0.1"),
        KeySpec("AuthCacheLifeTime", i, "86400", minimum=0, maximum=30 * DAY, only="2.0.1"),
        KeySpec("OfflineThreshold", i, "300", minimum=0, maximum=DAY, only="2.0.1"),
        KeySpec("NetworkProfileConnectionAttempts", i, "3", minimum=1, maximum=100, only="2.0.1"),
        # B09/B10 network profiles (ncpa/ocpp/v201/network_profile.py): the slots to try
        # in order, from the next start; the slot connected now
        KeySpec("NetworkConfigurationPriority", c, "", reboot=True, only="2.0.1"),
        KeySpec("ActiveNetworkProfile", i, "0", readonly=True, only="2.0.1"),
        # N Monitoring: events of a severity up to this wait in the offline queue
        KeySpec("OfflineQueuingSeverity", i, "9", minimum=0, maximum=9, only="2.0.1"),
        # K Smart charging (2.0.1): NotifyChargingLimit (ncpa/ocpp/local_limits.py)
        KeySpec("LimitChangeSignificance", i, "20", minimum=0, maximum=100, only="2.0.1"),
        # the reconnect backoff of 2.0.1 (backoff.RetryBackOff); the defaults from the
        # config file's backoff_min / backoff_max (client.py)
        KeySpec("RetryBackOffWaitMinimum", i, "2", minimum=1, maximum=DAY, only="2.0.1"),
        KeySpec("RetryBackOffRepeatTimes", i, "8", minimum=0, maximum=20, only="2.0.1"),
        KeySpec("RetryBackOffRandomRange", i, "2", minimum=0, maximum=DAY, only="2.0.1"),
        # Wh a transaction refused after its start may still take (invalid_id_energy.py)
        KeySpec("MaxEnergyOnInvalidId", i, "0", minimum=0, maximum=INT32_MAX, only="2.0.1"),
        # TxCtrlr: where a transaction begins and ends (ncpa/ocpp/v201/tx_points.py)
        KeySpec("TxStartPoint", c, "PowerPathClosed", choices=_TX_START, only="2.0.1"),
        KeySpec("TxStopPoint", c, "EVConnected,Authorized", choices=_TX_STOP, only="2.0.1"),
        KeySpec("NotifyChargingLimitWithSchedules", b, "true", only="2.0.1"),
    ]


class OcppSettings:
    """The configuration keys. `await load()` once, then `get`/`change`.

    `change(key, value)` is what both ChangeConfiguration and the local API call.
    `validators` lets the client veto a change that the type check accepts
    (SecurityProfile: never lower, and only with the certificates in place).
    `live` gives read-only keys whose value another part decides (the charging core)
    a function that reads it, so what is reported is what is applied.
    `defaults` replaces the built-in default of keys (from the config file).
    """

    def __init__(
        self, store: Store, connectors: int = 1, defaults: dict[str, str] | None = None
    ) -> None:
        self.store = store
        self.specs = {s.name: s for s in _specs(connectors)}
        for key, value in (defaults or {}).items():
            spec = self.specs[key]
            if self._problem(spec, value):
                raise ValueError(f"default for {key}: {self._problem(spec, value)}")
            self.specs[key] = replace(spec, default=value)
        self._values: dict[str, str] = {}
        self._listeners: list[Callable[[str, str], None]] = []
        self.validators: dict[str, Callable[[str], str | None]] = {}
        self.live: dict[str, Callable[[], str]] = {}

    async def load(self, initial: dict[str, str] | None = None) -> None:
        """Read stored values; `initial` seeds keys never set before (from the config file)."""
        await self.store.migrate(
            "ocpp-settings",
            ["CREATE TABLE ocpp_config (key TEXT PRIMARY KEY, value TEXT NOT NULL);"],
        )

        def _read(conn: sqlite3.Connection) -> dict[str, str]:
            return dict(conn.execute("SELECT key, value FROM ocpp_config").fetchall())

        stored = await self.store.call(_read)
        self._values = {k: v for k, v in stored.items() if k in self.specs}
        for key, value in (initial or {}).items():
            if key not in self._values and key in self.specs:
                await self._write(key, value)

    def on_change(self, listener: Callable[[str, str], None]) -> None:
        """listener(key, new_value) after a change is stored."""
        self._listeners.append(listener)

    # -- reading ----------------------------------------------------------------

    def get(self, key: str) -> str:
        spec = self.specs[key]
        live = self.live.get(key)
        if live is not None and spec.readonly:
            return live()
        return self._values.get(key, spec.default)

    def is_set(self, key: str) -> bool:
        """A value stored (by the CSMS, or seeded from the config file), not the default."""
        return key in self._values

    def get_int(self, key: str) -> int:
        return int(self.get(key))

    def get_bool(self, key: str) -> bool:
        return self.get(key).lower() == "true"

    def get_csl(self, key: str) -> list[str]:
        return [v.strip() for v in self.get(key).split(",") if v.strip()]

    def exposed(self, key: str, version: str) -> bool:
        spec = self.specs.get(key)
        return spec is not None and spec.only in (None, version)

    def report(
        self, keys: list[str] | None = None, version: str = "1.6"
    ) -> tuple[list[dict[str, object]], list[str]]:
        """(configurationKey entries, unknownKey) for GetConfiguration; secrets are left out."""
        names = (
            keys
            if keys
            else [k for k, s in self.specs.items() if not s.secret and self.exposed(k, version)]
        )
        known: list[dict[str, object]] = []
        unknown: list[str] = []
        for name in names:
            spec = self.specs.get(name)
            if spec is None or spec.secret or not self.exposed(name, version):
                unknown.append(name)
                continue
            known.append({"key": name, "readonly": spec.readonly, "value": self.get(name)})
        return known, unknown

    # -- changing ---------------------------------------------------------------

    def check(self, key: str, value: str) -> str | None:
        """Why `value` is not acceptable for `key`, or None."""
        problem = self._problem(self.specs[key], value)
        if problem:
            return problem
        veto = self.validators.get(key)
        return veto(value) if veto else None

    @staticmethod
    def _problem(spec: KeySpec, value: str) -> str | None:
        """The type and range check of a key."""
        if spec.kind == "int":
            if not _INTEGER.fullmatch(value) or abs(n := int(value)) > INT32_MAX:
                return "not an integer"
            if spec.minimum is not None and n < spec.minimum:
                return f"below {spec.minimum}"
            if spec.maximum is not None and n > spec.maximum:
                return f"above {spec.maximum}"
        elif spec.kind == "bool":
            if value.lower() not in ("true", "false"):
                return "not true/false"
        elif spec.kind == "csl" and spec.choices is not None:
            bad = [v for v in value.split(",") if v.strip() and v.strip() not in spec.choices]
            if bad:
                return f"unsupported: {','.join(bad)}"
        elif spec.name == "AuthorizationKey" and not (16 <= len(value) <= 40):
            return "must be 16..40 characters"
        return None

    async def change(self, key: str, value: str, version: str = "1.6") -> str:
        """Set a key; the OCPP ConfigurationStatus answer. Bad input changes nothing.
        `version`: whose name space `key` is in (a 2.0.1-only setting is unknown to 1.6)."""
        spec = self.specs.get(key)
        if spec is None or not self.exposed(key, version):
            return "NotSupported"
        if spec.readonly:
            return "Rejected"
        if spec.kind == "bool":
            value = value.lower()
        problem = self.check(key, value)
        if problem:
            log.warning("ocpp.config.rejected", key=key, reason=problem)
            return "Rejected"
        await self._write(key, value)
        log.info("ocpp.config.changed", key=key, value="***" if spec.secret else value)
        for listener in list(self._listeners):
            listener(key, value)
        return "RebootRequired" if spec.reboot else "Accepted"

    async def _write(self, key: str, value: str) -> None:
        def _put(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO ocpp_config(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

        await self.store.call(_put)
        self._values[key] = value
