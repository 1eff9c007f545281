"""Tariff decisions, energy settings and the phase/unit helpers."""

from __future__ import annotations

import pytest

from hal.grid import TariffPeriod
from hal.meter import MeterReading
from ncpa.config import ConfigError
from ncpa.energy.explain import explain_limit
from ncpa.energy.limits import CurrentLimits
from ncpa.energy.phases import (
    amps_to_watts,
    limit_to_amps,
    measured_voltage,
    phases_in_use,
    watts_to_amps,
)
from ncpa.energy.settings import (
    check_grid_max_current,
    check_load_shedding,
    check_on_off_peak,
    parse_energy_config,
)
from ncpa.energy.tariff import tariff_limit

LOW, HIGH = TariffPeriod.LOW, TariffPeriod.HIGH


@pytest.mark.parametrize(
    ("mode", "tariff", "started_low", "expected"),
    [
        ("ON_PEAK", HIGH, None, None),
        ("ON_PEAK", LOW, None, None),
        ("OFF_PEAK", HIGH, None, 0.0),
        ("OFF_PEAK", LOW, None, None),
        ("OFF_PEAK", HIGH, True, 0.0),  # OFF_PEAK ignores when the session started
        ("TRANSACTION_PEAK", HIGH, True, None),  # started in the low tariff: charges through
        ("TRANSACTION_PEAK", HIGH, False, 0.0),  # started in the high tariff: waits
        ("TRANSACTION_PEAK", LOW, False, None),
        ("TRANSACTION_PEAK", HIGH, None, 0.0),  # no session yet: as OFF_PEAK
    ],
)
def test_tariff_limit(
    mode: str, tariff: TariffPeriod, started_low: bool | None, expected: float | None
) -> None:
    assert tariff_limit(mode, tariff, session_started_low=started_low) == expected


def test_unknown_tariff_follows_the_policy() -> None:
    assert tariff_limit("OFF_PEAK", None) is None
    assert tariff_limit("OFF_PEAK", None, unknown="wait") == 0.0


def test_energy_config_defaults_and_overrides() -> None:
    cfg = parse_energy_config({})
    assert (cfg.grid_max_current, cfg.load_shedding, cfg.on_off_peak) == (25.0, "NO", "ON_PEAK")
    cfg = parse_energy_config({"energy": {"grid_max_current": 40, "load_shedding": "P1"}})
    assert cfg.grid_max_current == 40.0 and cfg.load_shedding == "P1"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"grid_max_curent": 25}, "unknown setting"),
        ({"grid_max_current": "25"}, "expected float"),
        ({"grid_max_current": 2}, "6..400"),
        ({"load_shedding": "P2"}, "load shedding"),
        ({"on_off_peak": "NIGHT"}, "on-off-peak"),
        ({"safe_current": -1.0}, "safe_current"),
        ({"lost_after_s": 0}, "lost_after_s"),
        ({"tariff_unknown": "maybe"}, "tariff_unknown"),
        ({"p1_version": "6"}, "p1_version"),
        ({"tariff_input_low": 1}, "expected bool"),
        ({"timezone": "Mars/Olympus"}, "time zone"),
        ({"phase_rotation": 3}, "phase_rotation"),
    ],
)
def test_energy_config_errors_name_the_setting(section: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_energy_config({"energy": section})


def test_setting_checks() -> None:
    assert check_grid_max_current(25) == 25.0
    for bad in (True, "25", float("nan"), 5.9, 401):
        with pytest.raises(ValueError):
            check_grid_max_current(bad)
    assert check_load_shedding("XEMEX_9600") == "XEMEX_9600"
    with pytest.raises(ValueError, match="one of"):
        check_load_shedding("no")
    assert check_on_off_peak("TRANSACTION_PEAK") == "TRANSACTION_PEAK"


def reading(volts: tuple[float, float, float], amps: tuple[float, float, float]) -> MeterReading:
    return MeterReading(volts, amps, (0.0, 0.0, 0.0), 0.0, 0.0)


def test_watts_and_amps() -> None:
    assert watts_to_amps(11040, 3, 230) == pytest.approx(16.0)
    assert watts_to_amps(3680, 1) == pytest.approx(16.0)
    assert amps_to_watts(16, 3, 230) == pytest.approx(11040)
    with pytest.raises(ValueError):
        watts_to_amps(1000, 0)


def test_measured_voltage_ignores_dead_phases() -> None:
    r = reading((240.0, 0.0, 236.0), (10.0, 0.0, 10.0))
    assert measured_voltage(r) == pytest.approx(238.0)
    assert measured_voltage(None) == 230.0
    assert measured_voltage(reading((0.0, 0.0, 0.0), (0, 0, 0))) == 230.0


def test_w_limit_uses_the_phases_the_ev_draws_on() -> None:
    one_phase_ev = reading((240.0, 240.0, 240.0), (14.0, 0.0, 0.0))
    assert phases_in_use(one_phase_ev) == (0,)
    assert limit_to_amps(3600, "W", one_phase_ev) == pytest.approx(15.0)  # 3600 / 240
    # not drawing yet: spread over every phase (the offer must hold if it starts on three)
    assert limit_to_amps(6900, "W", None) == pytest.approx(10.0)
    assert limit_to_amps(6900, "W", None, installation_phases=1) == pytest.approx(30.0)
    assert limit_to_amps(12.5, "A", None) == 12.5
    with pytest.raises(ValueError):
        limit_to_amps(1, "kW", None)


def test_explain_limit_names_every_source() -> None:
    limits = CurrentLimits([1, 2])
    limits.set("hardware", 32)
    limits.set("grid", 10, connector_id=1)
    limits.set("schedule", 16)
    assert explain_limit(limits, 1) == {
        "connectorId": 1,
        "limit": {"amps": 10.0, "source": "grid"},
        "sources": {"grid": 10.0, "hardware": 32.0, "schedule": 16.0},
    }
    assert explain_limit(limits, 2)["limit"] == {"amps": 16.0, "source": "schedule"}
    assert explain_limit(CurrentLimits([1]), 1)["limit"] == {"amps": 0.0, "source": "none"}
