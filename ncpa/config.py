"""Configuration: a TOML file, overridden by command-line flags.

The file holds the factory settings of the charger. Settings that an installer
or the CSMS changes at run time (authentication mode, lock mode, station max
current, ...) are kept in the store and win over the file from then on.

Sections that belong to one component (for example `[hardware]`) are parsed by
that component from `Config.raw`; this module checks the sections of the core.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

AUTH_MODES = ("PLUGNCHARGE", "WHITELIST")
LOCK_MODES = ("UNLOCKED", "TRANSACTION", "LOCKED")
OCPP_VERSIONS = ("1.6", "2.0.1", "auto")
RECOVERY_MODES = ("close", "resume")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Every section of the file; a component that reads one from Config.raw checks its keys
# (hardware: hal/drivers/settings.py, local_api: ncpa/api/settings.py, energy:
# ncpa/energy/settings.py, hotspot: ncpa/hotspot_service.py, ocpp_client: ncpa/ocpp/options.py).
# A section missing here is refused at start: add yours when a component reads a new one.
KNOWN_SECTIONS = (
    "station",
    "charging",
    "ocpp",
    "ocpp_client",
    "api",
    "local_api",
    "energy",
    "hardware",
    "hotspot",
    "sim",
    "log",
    "clock",
    "mqtt",
)
KNOWN_TOP_LEVEL_KEYS = ("data_dir", "developer_mode")
ID_MAX_LEN = 48  # OCPP: CiString48 (1.6 chargeBoxIdentity), identifierString[48] (2.0.1)


class ConfigError(ValueError):
    """A setting is missing or wrong; the message names it."""


@dataclass(frozen=True)
class StationConfig:
    id: str = "NCPA-0001"  # charge point id (OCPP identity)
    serial: str = "0001"
    model: str = "NCPA"
    vendor: str = "NCPA"
    connectors: int = 1
    phases: int = 3  # 1 or 3
    absolute_max_current: float = 32.0  # hardware limit per phase, amps
    contractual_max_current: float = 32.0  # soft limit from the contract, amps
    has_lock: bool = True  # socket with a latching device (False: tethered cable)


@dataclass(frozen=True)
class ChargingConfig:
    authentication_mode: str = "WHITELIST"
    lock_mode: str = "UNLOCKED"
    station_max_current: float = 32.0
    recovery: str = "close"  # what to do with a transaction open at start
    meter_interval: float = 1.0  # seconds between meter reads
    meter_timeout: float = 2.0  # a read slower than this is a meter fault
    durable_meter_interval: float = 5.0  # seconds between durable meter checkpoints
    pwm_min_interval: float = 5.0  # seconds between PWM increases (EV reaction time)
    lock_timeout: float = 2.0  # seconds for the lock feedback to confirm
    connection_timeout: float = 60.0  # pre-authorized card waits this long for a plug
    welded_check_delay: float = 0.5  # seconds after opening before feedback is trusted
    tick_interval: float = 0.25  # seconds between feedback checks and timer evaluations


@dataclass(frozen=True)
class OcppConfig:
    csms_url: str = ""  # empty: run offline
    version: str = "auto"


@dataclass(frozen=True)
class ApiConfig:
    host: str = "0.0.0.0"
    port: int = 8443


@dataclass(frozen=True)
class SimConfig:
    port: int = 8081
    ev_capacity_kwh: float = 40.0
    ev_initial_soc: float = 0.5
    ev_max_current: float = 16.0
    ev_phases: int = 3
    phase_switch: bool = False  # a 1/3-phase switch contactor (the SOLAR modes use it)


@dataclass(frozen=True)
class Config:
    station: StationConfig = field(default_factory=StationConfig)
    charging: ChargingConfig = field(default_factory=ChargingConfig)
    ocpp: OcppConfig = field(default_factory=OcppConfig)
    api: ApiConfig = field(default_factory=ApiConfig)
    sim: SimConfig = field(default_factory=SimConfig)
    data_dir: Path = Path("/var/lib/ncpa")
    simulated: bool = False
    developer_mode: bool = False  # developer routes and keys; on with the simulator
    log_format: str = "text"  # text | json
    log_level: str = "INFO"
    raw: dict[str, Any] = field(default_factory=dict)  # the whole file, for components


def _section(cls: type[Any], raw: dict[str, Any], name: str) -> Any:
    data = raw.get(name, {})
    if not isinstance(data, dict):
        raise ConfigError(f"[{name}] must be a table")
    known = {f.name: f for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise ConfigError(f"{name}.{key}: unknown setting")
        default = getattr(cls(), key)
        expected = type(default)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
            raise ConfigError(f"{name}.{key}: expected {expected.__name__}, got {value!r}")
        values[key] = value
    return cls(**values)


def _only(table: Any, cls: type[Any]) -> Any:
    """The keys of `table` that the core's dataclass knows (a component checks the rest)."""
    if not isinstance(table, dict):
        return table
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in table.items() if k in names}


ID_RULE = (
    f"1..{ID_MAX_LEN} printable ASCII characters, without spaces or '/' "
    "(it is the OCPP identity in the CSMS URL)"
)


def is_ocpp_identity(value: str) -> bool:
    # printable ASCII without space: a space or a control character has no place in an
    # identity a CSMS matches; "/" would move the identity to another URL path segment
    return (
        1 <= len(value) <= ID_MAX_LEN and all("!" <= c <= "~" for c in value) and "/" not in value
    )


def _check_known(raw: dict[str, Any]) -> None:
    """Refuse what no part of the agent reads: a typo must not run on the defaults."""
    for key, value in raw.items():
        if key in KNOWN_TOP_LEVEL_KEYS:
            continue
        if isinstance(value, (dict, list)) and key not in KNOWN_SECTIONS:
            raise ConfigError(f"[{key}]: unknown section (known: {', '.join(KNOWN_SECTIONS)})")
        if key not in KNOWN_SECTIONS:
            raise ConfigError(
                f"{key}: unknown setting (top level: {', '.join(KNOWN_TOP_LEVEL_KEYS)})"
            )


def _check(cfg: Config) -> Config:
    st, ch = cfg.station, cfg.charging

    def need(ok: bool, msg: str) -> None:
        if not ok:
            raise ConfigError(msg)

    need(is_ocpp_identity(st.id), f"station.id: must be {ID_RULE}")
    need(1 <= st.connectors <= 8, "station.connectors: must be 1..8")
    need(st.phases in (1, 3), "station.phases: must be 1 or 3")
    need(6 <= st.absolute_max_current <= 80, "station.absolute_max_current: must be 6..80 A")
    need(ch.authentication_mode in AUTH_MODES, f"charging.authentication_mode: one of {AUTH_MODES}")
    need(ch.lock_mode in LOCK_MODES, f"charging.lock_mode: one of {LOCK_MODES}")
    need(ch.recovery in RECOVERY_MODES, f"charging.recovery: one of {RECOVERY_MODES}")
    need(ch.station_max_current >= 0, "charging.station_max_current: must be >= 0")
    need(ch.meter_interval > 0, "charging.meter_interval: must be > 0")
    need(ch.meter_timeout > 0, "charging.meter_timeout: must be > 0")
    need(ch.tick_interval > 0, "charging.tick_interval: must be > 0")
    need(ch.lock_timeout > 0, "charging.lock_timeout: must be > 0")
    need(ch.connection_timeout > 0, "charging.connection_timeout: must be > 0")
    need(cfg.ocpp.version in OCPP_VERSIONS, f"ocpp.version: one of {OCPP_VERSIONS}")
    url = cfg.ocpp.csms_url
    need(not url or url.startswith(("ws://", "wss://")), "ocpp.csms_url: must be ws:// or wss://")
    need(0 < cfg.api.port < 65536, "api.port: must be 1..65535")
    need(0 < cfg.sim.port < 65536, "sim.port: must be 1..65535")
    need(cfg.log_format in ("text", "json"), "log.format: text or json")
    need(cfg.log_level in LOG_LEVELS, f"log.level: one of {', '.join(LOG_LEVELS)}")
    return cfg


def os_reason(e: Exception) -> str:
    return e.strerror if isinstance(e, OSError) and e.strerror else str(e)


def load(path: Path | None, overrides: dict[str, Any] | None = None) -> Config:
    """Read the file (if any), apply flag overrides, check everything.

    overrides keys: data_dir, simulated, id, csms_url, ocpp_version, api_port, sim_port.
    """
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text())
        except FileNotFoundError as e:
            raise ConfigError(f"config file {path}: not found") from e
        except IsADirectoryError as e:
            raise ConfigError(f"config file {path}: is a directory, not a TOML file") from e
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"config file {path}: cannot read ({os_reason(e)})") from e
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"config file {path}: {e}") from e
    _check_known(raw)
    known = {"station", "charging", "ocpp", "api", "sim", "log", "data_dir", "developer_mode"}
    core = {k: v for k, v in raw.items() if k in known}
    log = core.get("log", {})
    if not isinstance(log, dict):
        raise ConfigError("[log] must be a table")
    if not isinstance(raw.get("data_dir", ""), str):
        raise ConfigError("data_dir: expected a path string")
    if not isinstance(raw.get("developer_mode", False), bool):
        raise ConfigError("developer_mode: expected true or false")
    cfg = Config(
        station=_section(StationConfig, core, "station"),
        charging=_section(ChargingConfig, core, "charging"),
        # [ocpp] also holds the OCPP client's own options, which ncpa/ocpp/options.py checks
        ocpp=_section(OcppConfig, {"ocpp": _only(core.get("ocpp", {}), OcppConfig)}, "ocpp"),
        api=_section(ApiConfig, core, "api"),
        sim=_section(SimConfig, core, "sim"),
        data_dir=Path(str(raw.get("data_dir", "/var/lib/ncpa"))),
        developer_mode=bool(raw.get("developer_mode", False)),
        log_format=str(log.get("format", "text")),
        log_level=str(log.get("level", "INFO")).upper(),
        raw=raw,
    )
    if path is not None and not cfg.data_dir.is_absolute():
        cfg = replace(cfg, data_dir=(path.parent / cfg.data_dir).resolve())
    o = {k: v for k, v in (overrides or {}).items() if v is not None}
    if "data_dir" in o:
        cfg = replace(cfg, data_dir=Path(o["data_dir"]))
    if o.get("simulated"):
        cfg = replace(cfg, simulated=True, developer_mode=True)
    if "id" in o:
        cfg = replace(cfg, station=replace(cfg.station, id=o["id"]))
    if "csms_url" in o:
        cfg = replace(cfg, ocpp=replace(cfg.ocpp, csms_url=o["csms_url"]))
    if "ocpp_version" in o:
        cfg = replace(cfg, ocpp=replace(cfg.ocpp, version=o["ocpp_version"]))
    if "api_port" in o:
        cfg = replace(cfg, api=replace(cfg.api, port=int(o["api_port"])))
    if "sim_port" in o:
        cfg = replace(cfg, sim=replace(cfg.sim, port=int(o["sim_port"])))
    return _check(cfg)
