"""Energy settings: factory defaults from `[energy]` in the config file, run-time
values from the store (written by the local API), and their checks.

Store settings keys (shared with the local API, which writes them):
`grid_max_current` (float, A per phase), `load_shedding` (NO | P1 |
XEMEX_BLACK | XEMEX_9600), `on_off_peak` (ON_PEAK | OFF_PEAK |
TRANSACTION_PEAK), `grid_currents` (list of 1-3 floats, pushed values),
`charge_schedule` (the /schedules/chargepoint object), `charging_mode` (FAST | SOLAR |
SOLAR_MIN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ncpa.config import ConfigError

KEY_GRID_MAX_CURRENT = "grid_max_current"
KEY_LOAD_SHEDDING = "load_shedding"
KEY_ON_OFF_PEAK = "on_off_peak"
KEY_GRID_CURRENTS = "grid_currents"
KEY_CHARGE_SCHEDULE = "charge_schedule"
KEY_CHARGING_MODE = "charging_mode"

LOAD_SHEDDING_MODES = ("NO", "P1", "XEMEX_BLACK", "XEMEX_9600")
PEAK_MODES = ("ON_PEAK", "OFF_PEAK", "TRANSACTION_PEAK")
CHARGING_MODES = ("FAST", "SOLAR", "SOLAR_MIN")
MAX_GRID_CURRENT = 400.0  # amps per phase; a main fuse larger than this is a typo


@dataclass(frozen=True)
class EnergyConfig:
    """The `[energy]` section. Every time is in seconds, every current in amps per phase."""

    grid_max_current: float = 25.0  # main fuse rating
    load_shedding: str = "NO"
    on_off_peak: str = "ON_PEAK"
    safe_current: float = 6.0  # total offered while the grid measurement is lost
    margin: float = 1.0  # kept free under the fuse
    min_current: float = 6.0  # the EV minimum (IEC 61851): below it, pause
    resume_margin: float = 1.0  # resume only with min_current + this available ...
    resume_delay_s: float = 10.0  # ... for this long
    min_pause_s: float = 30.0  # and not before the pause lasted this long
    smoothing_s: float = 5.0  # time constant of increases (reductions are immediate)
    increase_deadband: float = 0.5  # increases smaller than this are ignored
    lost_after_s: float = 5.0  # no measurement for this long (at least 2 periods): safe current
    phase_rotation: int = 0  # the charger's L1 is on grid phase 1 + this (0, 1 or 2)
    own_reading_max_age_s: float = 5.0  # older charger readings do not count as own draw
    pushed_stale_s: float = 30.0  # pushed grid currents go stale after this
    p1_port: str = "/dev/ttyAMA0"
    p1_version: str = "auto"  # auto | 2.2 | 4 | 5 | be
    p1_baudrate: int = 0  # 0: by version (9600 7E1 for 2.2, else 115200 8N1)
    p1_low_tariff_code: int = 0  # 0: by version (1 in NL, 2 in BE)
    xemex_port: str = "/dev/ttyUSB0"  # or tcp://host:port (RS-485 gateway)
    xemex_device_id: int = 1
    xemex_baudrate: int = 0  # 0: 19200 for XEMEX_BLACK, 9600 for XEMEX_9600
    xemex_parity: str = "E"  # N | E | O (8 data bits, 1 stop bit)
    xemex_function: str = "holding"  # holding | input
    xemex_address: int = 0x500C  # CSMB: RMS current CT1 (CT2, CT3 follow)
    xemex_format: str = "float32_a"  # float32_a | int32_ma | uint16_da
    xemex_interval_s: float = 1.0
    xemex_timeout_s: float = 1.0
    tariff_input: str = "tariff"  # name in board.inputs
    tariff_input_low: bool = True  # input active = low tariff
    tariff_unknown: str = "charge"  # OFF_PEAK with no tariff known: charge | wait
    timezone: str = ""  # IANA name for local schedules; "" = the system's
    # charging modes (ncpa/energy/charging_mode.py, docs/home.md)
    charging_mode: str = "FAST"  # FAST | SOLAR | SOLAR_MIN (the factory default)
    solar_start_delay_s: float = 60.0  # export >= min_current per phase this long: start
    solar_stop_delay_s: float = 300.0  # hold time: below min_current this long, pause
    solar_import_allowance: float = 0.0  # amps of import allowed, summed over the phases
    phase_switch_delay_s: float = 120.0  # a phase count must fit this long before a switch
    external_limit_ttl_s: float = 60.0  # the `external` limit expires unless refreshed


def parse_energy_config(raw: dict[str, Any]) -> EnergyConfig:
    """Read `raw["energy"]` (Config.raw). Raises ConfigError naming the bad setting."""
    data = raw.get("energy", {})
    if not isinstance(data, dict):
        raise ConfigError("[energy] must be a table")
    known = {f.name for f in fields(EnergyConfig)}
    defaults = EnergyConfig()
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise ConfigError(f"energy.{key}: unknown setting")
        expected = type(getattr(defaults, key))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
            raise ConfigError(f"energy.{key}: expected {expected.__name__}, got {value!r}")
        values[key] = value
    cfg = EnergyConfig(**values)
    try:
        check_grid_max_current(cfg.grid_max_current)
        check_load_shedding(cfg.load_shedding)
        check_on_off_peak(cfg.on_off_peak)
    except ValueError as e:
        raise ConfigError(f"energy: {e}") from e
    for name in (
        "safe_current",
        "margin",
        "min_current",
        "resume_margin",
        "increase_deadband",
        "solar_import_allowance",
    ):
        if not 0 <= getattr(cfg, name) <= MAX_GRID_CURRENT:
            raise ConfigError(f"energy.{name}: must be 0..{MAX_GRID_CURRENT:.0f} A")
    for name in (
        "resume_delay_s",
        "min_pause_s",
        "smoothing_s",
        "solar_start_delay_s",
        "solar_stop_delay_s",
        "phase_switch_delay_s",
    ):
        if getattr(cfg, name) < 0:
            raise ConfigError(f"energy.{name}: must be >= 0")
    for name in (
        "lost_after_s",
        "pushed_stale_s",
        "xemex_interval_s",
        "xemex_timeout_s",
        "external_limit_ttl_s",
    ):
        if getattr(cfg, name) <= 0:
            raise ConfigError(f"energy.{name}: must be > 0")
    if cfg.phase_rotation not in (0, 1, 2):
        raise ConfigError("energy.phase_rotation: 0, 1 or 2")
    if cfg.tariff_unknown not in ("charge", "wait"):
        raise ConfigError("energy.tariff_unknown: charge or wait")
    if cfg.timezone:
        try:
            ZoneInfo(cfg.timezone)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ConfigError(f"energy.timezone: {cfg.timezone!r} is not a known time zone") from e
    try:
        check_charging_mode(cfg.charging_mode)
    except ValueError as e:
        raise ConfigError(f"energy: {e}") from e
    if cfg.p1_version not in ("auto", "2.2", "4", "5", "be"):
        raise ConfigError("energy.p1_version: auto, 2.2, 4, 5 or be")
    return cfg


def check_grid_max_current(value: object) -> float:
    """The main fuse rating, amps per phase. Raises ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"grid max current: {value!r} is not a number")
    if not 6 <= value <= MAX_GRID_CURRENT:
        raise ValueError(f"grid max current: {value} A, must be 6..{MAX_GRID_CURRENT:.0f} A")
    return float(value)


def check_load_shedding(value: object) -> str:
    if value not in LOAD_SHEDDING_MODES:
        raise ValueError(f"load shedding: {value!r}, one of {', '.join(LOAD_SHEDDING_MODES)}")
    return str(value)


def check_on_off_peak(value: object) -> str:
    if value not in PEAK_MODES:
        raise ValueError(f"on-off-peak: {value!r}, one of {', '.join(PEAK_MODES)}")
    return str(value)


def check_charging_mode(value: object) -> str:
    if value not in CHARGING_MODES:
        raise ValueError(f"charging mode: {value!r}, one of {', '.join(CHARGING_MODES)}")
    return str(value)
