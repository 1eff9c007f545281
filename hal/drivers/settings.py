"""The `[hardware]` section of the config file: which driver runs each device, and on
which port, address, baud rate and pins. Every error is a ncpa.config.ConfigError that
names the setting (`hardware.connectors[1].meter.port: ...`).

Pins are BCM GPIO numbers. See docs/hardware.md for the reference build.
"""

from __future__ import annotations

import types
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from hal.drivers.gpio_pins import PIN_FACTORIES
from hal.drivers.register_map import MapError, load_map
from ncpa.config import Config, ConfigError

T = TypeVar("T")
PULLS = ("off", "up", "down")
PARITIES = ("N", "E", "O")
GPIO_PINS = range(0, 28)  # BCM numbers on the 40-pin header


def _choices(*values: str, default: str | None = None) -> Any:
    if default is None:
        return field(metadata={"choices": values})
    return field(default=default, metadata={"choices": values})


def _ranged(default: Any, lo: float, hi: float) -> Any:
    return field(default=default, metadata={"range": (lo, hi)})


def _pin(required: bool = True) -> Any:
    if required:
        return field(metadata={"range": (GPIO_PINS.start, GPIO_PINS.stop - 1), "pin": True})
    return field(
        default=None, metadata={"range": (GPIO_PINS.start, GPIO_PINS.stop - 1), "pin": True}
    )


@dataclass(frozen=True)
class MeterSettings:
    backend: str = _choices("modbus-rtu", "modbus-tcp")
    model: str = "sdm630"  # built-in map name, or a path to a map file (*.toml)
    device_id: int = _ranged(1, 1, 247)
    port: str = ""  # modbus-rtu: the RS-485 adapter
    baudrate: int = _ranged(9600, 1200, 115200)
    parity: str = _choices(*PARITIES, default="N")
    stopbits: int = _ranged(1, 1, 2)
    host: str = ""  # modbus-tcp
    tcp_port: int = _ranged(502, 1, 65535)
    # per try; with the default retry a read of two blocks stays under the core's
    # charging.meter_timeout (2 s) even when every request needs its retry
    timeout: float = _ranged(0.4, 0.05, 10.0)
    retries: int = _ranged(1, 0, 5)


@dataclass(frozen=True)
class EvccSettings:
    backend: str = _choices("rapi")
    port: str = "/dev/ttyAMA0"
    baudrate: int = _ranged(115200, 1200, 1_000_000)
    poll_interval: float = _ranged(1.0, 0.05, 10.0)
    link_timeout: float = _ranged(3.0, 0.2, 30.0)
    command_timeout: float = _ranged(0.5, 0.05, 5.0)
    # RAPI heartbeat supervision: the controller limits the current to heartbeat_current
    # when the agent misses its pulses for heartbeat_interval seconds (0: off)
    heartbeat_interval: int = _ranged(0, 0, 3600)
    heartbeat_current: int = _ranged(6, 6, 80)


@dataclass(frozen=True)
class ContactorSettings:
    backend: str = _choices("gpio", "rapi")  # rapi: the controller's own relay
    coil_pin: int | None = _pin(required=False)
    coil_active_high: bool = True
    feedback_pin: int | None = _pin(required=False)  # auxiliary contact, on = closed
    feedback_active_high: bool = True
    feedback_pull: str = _choices(*PULLS, default="off")


@dataclass(frozen=True)
class LockSettings:
    backend: str = _choices("gpio", "none")
    lock_pin: int | None = _pin(required=False)  # H-bridge input driving towards "locked"
    unlock_pin: int | None = _pin(required=False)
    motor_active_high: bool = True
    feedback_pin: int | None = _pin(required=False)  # switch, on = locked
    feedback_active_high: bool = True
    feedback_pull: str = _choices(*PULLS, default="off")
    timeout: float = _ranged(0.0, 0.0, 30.0)  # 0: charging.lock_timeout


@dataclass(frozen=True)
class PhaseSwitchSettings:
    coil_pin: int = _pin()  # relay coil: on = L1 only, off = all three phases
    coil_active_high: bool = True
    feedback_pin: int | None = _pin(required=False)  # aux contact, on = 1 phase
    feedback_active_high: bool = True
    feedback_pull: str = _choices(*PULLS, default="off")
    settle: float = _ranged(0.1, 0.0, 2.0)  # seconds for the contacts to move


@dataclass(frozen=True)
class ConnectorHardware:
    meter: MeterSettings
    evcc: EvccSettings
    contactor: ContactorSettings
    lock: LockSettings | None
    phase_switch: PhaseSwitchSettings | None = None


@dataclass(frozen=True)
class ShuntSettings:
    pin: int = _pin()
    active_high: bool = True
    pulse: float = _ranged(0.5, 0.05, 5.0)
    feedback_pin: int | None = _pin(required=False)  # breaker aux contact, on = tripped
    feedback_active_high: bool = True
    feedback_pull: str = _choices(*PULLS, default="off")


@dataclass(frozen=True)
class InputSettings:
    pin: int = _pin()
    active_high: bool = True
    pull: str = _choices(*PULLS, default="off")
    bounce_time: float = _ranged(0.05, 0.0, 2.0)


@dataclass(frozen=True)
class RfidSettings:
    backend: str = _choices("pn532", "rdm6300", "none")
    port: str = "/dev/ttyUSB1"
    baudrate: int = _ranged(0, 0, 1_000_000)  # 0: the reader's default (115200 / 9600)
    release: float = _ranged(1.0, 0.1, 10.0)  # seconds away before a card counts again
    poll_interval: float = _ranged(0.2, 0.02, 5.0)  # pn532


@dataclass(frozen=True)
class HotspotSettings:
    backend: str = _choices("nmcli", "none", default="nmcli")
    interface: str = "wlan0"
    con_name: str = "ncpa-hotspot"


@dataclass(frozen=True)
class HardwareSettings:
    connectors: list[ConnectorHardware]
    shunt: ShuntSettings
    rfid: RfidSettings | None
    inputs: dict[str, InputSettings]
    hotspot: HotspotSettings
    gpio_pin_factory: str = ""


def _is_type(value: Any, tp: Any) -> bool:
    if tp is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, tp)


def _type_name(tp: Any) -> str:
    args = [a for a in get_args(tp) if a is not type(None)]
    return " or ".join(a.__name__ for a in args) if args else str(tp.__name__)


def parse_table(cls: type[T], data: Any, where: str) -> T:
    """`data` (a TOML table) into dataclass `cls`: unknown keys, missing keys, wrong types,
    values out of range or not among the choices give a ConfigError naming the key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a table")
    hints = get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    for key in data:
        if key not in known:
            raise ConfigError(f"{where}.{key}: unknown setting (known: {', '.join(known)})")
    values: dict[str, Any] = {}
    for name, f in known.items():
        at = f"{where}.{name}"
        if name not in data:
            if f.default is MISSING:
                raise ConfigError(f"{at}: missing")
            continue
        value, tp = data[name], hints[name]
        optional = get_origin(tp) in (Union, types.UnionType)
        base = next(a for a in get_args(tp) if a is not type(None)) if optional else tp
        if not _is_type(value, base):
            raise ConfigError(f"{at}: expected {_type_name(tp)}, got {value!r}")
        if base is float:
            value = float(value)
        choices = f.metadata.get("choices")
        if choices and value not in choices:
            raise ConfigError(f"{at}: one of {', '.join(choices)}, got {value!r}")
        lo_hi = f.metadata.get("range")
        if lo_hi and not lo_hi[0] <= value <= lo_hi[1]:
            what = "a BCM GPIO number " if f.metadata.get("pin") else ""
            raise ConfigError(f"{at}: must be {what}{lo_hi[0]}..{lo_hi[1]}, got {value!r}")
        values[name] = value
    return cls(**values)


def _connector(data: Any, n: int, has_lock: bool) -> ConnectorHardware:
    where = f"hardware.connectors[{n}]"
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a table")
    for key in data:
        if key not in ("meter", "evcc", "contactor", "lock", "phase_switch"):
            raise ConfigError(
                f"{where}.{key}: unknown device (meter, evcc, contactor, lock, phase_switch)"
            )
    for key in ("meter", "evcc", "contactor"):
        if key not in data:
            raise ConfigError(f"{where}.{key}: missing (every connector needs one)")
    meter = parse_table(MeterSettings, data["meter"], f"{where}.meter")
    if meter.backend == "modbus-rtu" and not meter.port:
        raise ConfigError(f"{where}.meter.port: missing (the RS-485 adapter, /dev/ttyUSB0)")
    if meter.backend == "modbus-tcp" and not meter.host:
        raise ConfigError(f"{where}.meter.host: missing (the meter's or gateway's address)")
    try:
        load_map(meter.model)
    except MapError as e:
        raise ConfigError(f"{where}.meter.model: {e}") from e
    evcc = parse_table(EvccSettings, data["evcc"], f"{where}.evcc")
    contactor = parse_table(ContactorSettings, data["contactor"], f"{where}.contactor")
    if contactor.backend == "gpio":
        for key in ("coil_pin", "feedback_pin"):
            if getattr(contactor, key) is None:
                raise ConfigError(f"{where}.contactor.{key}: missing (needed with backend gpio)")
    elif contactor.coil_pin is not None:
        raise ConfigError(f"{where}.contactor.coil_pin: not used with backend rapi")
    lock_data = data.get("lock", {"backend": "none"})
    lock: LockSettings | None = parse_table(LockSettings, lock_data, f"{where}.lock")
    assert lock is not None
    if lock.backend == "none":
        if has_lock:
            raise ConfigError(f"{where}.lock: missing, and station.has_lock is true")
        lock = None
    else:
        if not has_lock:
            raise ConfigError(f"{where}.lock: station.has_lock is false (tethered cable)")
        for key in ("lock_pin", "unlock_pin", "feedback_pin"):
            if getattr(lock, key) is None:
                raise ConfigError(f"{where}.lock.{key}: missing (needed with backend gpio)")
    switch = None
    if "phase_switch" in data:
        switch = parse_table(PhaseSwitchSettings, data["phase_switch"], f"{where}.phase_switch")
    return ConnectorHardware(meter, evcc, contactor, lock, switch)


def _check_pins(hw: HardwareSettings) -> None:
    used: dict[int, str] = {}

    def take(pin: int | None, name: str) -> None:
        if pin is None:
            return
        if pin in used:
            raise ConfigError(f"{name}: GPIO {pin} is already {used[pin]}")
        used[pin] = name

    for n, c in enumerate(hw.connectors, 1):
        w = f"hardware.connectors[{n}]"
        take(c.contactor.coil_pin, f"{w}.contactor.coil_pin")
        take(c.contactor.feedback_pin, f"{w}.contactor.feedback_pin")
        if c.lock:
            take(c.lock.lock_pin, f"{w}.lock.lock_pin")
            take(c.lock.unlock_pin, f"{w}.lock.unlock_pin")
            take(c.lock.feedback_pin, f"{w}.lock.feedback_pin")
        if c.phase_switch:
            take(c.phase_switch.coil_pin, f"{w}.phase_switch.coil_pin")
            take(c.phase_switch.feedback_pin, f"{w}.phase_switch.feedback_pin")
    take(hw.shunt.pin, "hardware.shunt.pin")
    take(hw.shunt.feedback_pin, "hardware.shunt.feedback_pin")
    for name, inp in hw.inputs.items():
        take(inp.pin, f"hardware.inputs.{name}.pin")


def _check_ports(hw: HardwareSettings) -> None:
    """One serial port, one device; except a Modbus RTU bus, shared by its meters."""
    used: dict[str, tuple[str, tuple[Any, ...]]] = {}

    def take(port: str, name: str, bus: tuple[Any, ...] = ()) -> None:
        if port in used:
            other, other_bus = used[port]
            if not (bus and bus == other_bus):
                raise ConfigError(f"{name}: {port} is already used by {other}")
        used.setdefault(port, (name, bus))

    for n, c in enumerate(hw.connectors, 1):
        w = f"hardware.connectors[{n}]"
        m = c.meter
        if m.backend == "modbus-rtu":
            take(m.port, f"{w}.meter.port", ("modbus", m.baudrate, m.parity, m.stopbits))
        take(c.evcc.port, f"{w}.evcc.port")
    if hw.rfid:
        take(hw.rfid.port, "hardware.rfid.port")
    ids: dict[tuple[str, int], str] = {}
    for n, c in enumerate(hw.connectors, 1):
        m = c.meter
        key = (m.port if m.backend == "modbus-rtu" else f"{m.host}:{m.tcp_port}", m.device_id)
        name = f"hardware.connectors[{n}].meter.device_id"
        if key in ids:
            raise ConfigError(f"{name}: {m.device_id} is already {ids[key]} on the same bus")
        ids[key] = name


def parse_hardware(config: Config) -> HardwareSettings:
    raw = config.raw.get("hardware")
    if raw is None:
        raise ConfigError("[hardware]: missing; real hardware needs it (or run with --sim)")
    if not isinstance(raw, dict):
        raise ConfigError("[hardware]: must be a table")
    known = ("connectors", "shunt", "rfid", "inputs", "hotspot", "gpio_pin_factory")
    for key in raw:
        if key not in known:
            raise ConfigError(f"hardware.{key}: unknown setting (known: {', '.join(known)})")
    factory = raw.get("gpio_pin_factory", "")
    if factory not in ("", *PIN_FACTORIES):
        raise ConfigError(f"hardware.gpio_pin_factory: one of {', '.join(PIN_FACTORIES)}")
    conns = raw.get("connectors")
    if not isinstance(conns, list) or not conns:
        raise ConfigError(
            "hardware.connectors: missing ([[hardware.connectors]], one per connector)"
        )
    if len(conns) != config.station.connectors:
        raise ConfigError(
            f"hardware.connectors: {len(conns)} given, station.connectors is "
            f"{config.station.connectors}"
        )
    connectors = [_connector(c, n, config.station.has_lock) for n, c in enumerate(conns, 1)]
    if "shunt" not in raw:
        raise ConfigError("hardware.shunt: missing (the shunt-trip output is required)")
    shunt = parse_table(ShuntSettings, raw["shunt"], "hardware.shunt")
    rfid: RfidSettings | None = parse_table(
        RfidSettings, raw.get("rfid", {"backend": "none"}), "hardware.rfid"
    )
    if rfid is not None and rfid.backend == "none":
        rfid = None
    inputs_raw = raw.get("inputs", {})
    if not isinstance(inputs_raw, dict):
        raise ConfigError("hardware.inputs: must be a table of named inputs")
    inputs = {
        name: parse_table(InputSettings, data, f"hardware.inputs.{name}")
        for name, data in inputs_raw.items()
    }
    hotspot = parse_table(HotspotSettings, raw.get("hotspot", {}), "hardware.hotspot")
    hw = HardwareSettings(connectors, shunt, rfid, inputs, hotspot, factory)
    _check_pins(hw)
    _check_ports(hw)
    for n, c in enumerate(connectors, 1):
        if c.contactor.backend == "rapi" and c.evcc.backend != "rapi":
            raise ConfigError(f"hardware.connectors[{n}].contactor.backend: rapi needs a rapi evcc")
    return hw
