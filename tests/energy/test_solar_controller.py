"""The SOLAR decision on its own, with explicit times: the start delay, the hold time, the
minimum pause, SOLAR_MIN's floor, several connectors, the phase count with a switch."""

from __future__ import annotations

from dataclasses import replace

from ncpa.energy.load_balancer import ConnectorLoad
from ncpa.energy.settings import EnergyConfig
from ncpa.energy.solar import (
    FOLLOWING,
    HOLD,
    MINIMUM,
    NO_MEASUREMENT,
    PAUSED,
    STARTING,
    WAITING,
    SolarController,
)
from tests.energy.test_load_balancer import grid, own

CFG = replace(
    EnergyConfig(),
    solar_start_delay_s=10.0,
    solar_stop_delay_s=60.0,
    min_pause_s=30.0,
    solar_import_allowance=0.0,
    increase_deadband=0.5,
    phase_switch_delay_s=20.0,
)


def ev(cid: int, amps: float, phases: int = 3) -> ConnectorLoad:
    return ConnectorLoad(
        cid, True, float(cid), own(*(amps if p < phases else 0.0 for p in range(3)))
    )


def idle(cid: int = 1) -> ConnectorLoad:
    return ConnectorLoad(cid, True, 1.0, None)


def test_start_only_after_the_export_held_for_the_start_delay() -> None:
    c = SolarController(CFG)
    assert c.update("SOLAR", grid(-5, -5, -5), [idle()], 0).total_a == 0.0
    assert c.state == WAITING  # 5 A per phase: less than 6
    assert c.update("SOLAR", grid(-7, -7, -7), [idle()], 1).state == STARTING
    assert c.update("SOLAR", grid(-5, -5, -7), [idle()], 5).state == WAITING  # a dip: again
    assert c.update("SOLAR", grid(-7, -7, -7), [idle()], 6).total_a == 0.0
    d = c.update("SOLAR", grid(-7, -7, -7), [idle()], 16)
    assert d.state == FOLLOWING and d.total_a == 7.0 and d.per_connector == {1: 7.0}


def test_follows_the_surplus_and_holds_then_pauses() -> None:
    c = SolarController(CFG)
    c.update("SOLAR", grid(-9, -9, -9), [idle()], 0)
    assert c.update("SOLAR", grid(-9, -9, -9), [idle()], 10).total_a == 9.0
    # the EV draws 9 A: the grid shows 0 net; more sun: +3 A export per phase
    assert c.update("SOLAR", grid(-3, -3, -3), [ev(1, 9)], 11).total_a == 12.0
    # a small rise (0.3 A): inside the dead band, no change
    assert c.update("SOLAR", grid(-0.3, -0.3, -0.3), [ev(1, 12)], 12).total_a == 12.0
    # a drop: at once
    assert c.update("SOLAR", grid(4, 4, 4), [ev(1, 12)], 13).total_a == 8.0
    # below 6 A: held at 6 A for the hold time, then paused
    d = c.update("SOLAR", grid(5, 5, 5), [ev(1, 8)], 14)
    assert d.state == HOLD and d.total_a == 6.0
    assert c.update("SOLAR", grid(3, 3, 3), [ev(1, 6)], 73).state == HOLD
    d = c.update("SOLAR", grid(3, 3, 3), [ev(1, 6)], 74)
    assert d.state == PAUSED and d.total_a == 0.0
    # plenty of sun at once, but not before the minimum pause has passed
    assert c.update("SOLAR", grid(-10, -10, -10), [ev(1, 0)], 80).total_a == 0.0
    assert c.update("SOLAR", grid(-10, -10, -10), [ev(1, 0)], 104).state == STARTING
    assert c.update("SOLAR", grid(-10, -10, -10), [ev(1, 0)], 114).total_a == 10.0


def test_the_allowance_counts_over_the_phases_and_only_while_following() -> None:
    c = SolarController(replace(CFG, solar_import_allowance=3.0))
    # 5.5 A export per phase: the allowance does not start a charge
    c.update("SOLAR", grid(-5.5, -5.5, -5.5), [idle()], 0)
    assert c.update("SOLAR", grid(-5.5, -5.5, -5.5), [idle()], 20).total_a == 0.0
    c = SolarController(replace(CFG, solar_import_allowance=3.0))
    c.update("SOLAR", grid(-7, -7, -7), [idle()], 0)
    assert c.update("SOLAR", grid(-7, -7, -7), [idle()], 10).total_a == 8.0  # (21 + 3) / 3
    # an EV on one phase: the whole surplus and allowance on that phase
    assert c.update("SOLAR", grid(1, -7, -7), [ev(1, 8, phases=1)], 11).total_a == 8.0 + 16.0


def test_solar_min_never_below_the_minimum() -> None:
    c = SolarController(CFG)
    for t, g in enumerate([grid(8, 8, 8), grid(-20, -20, -20), grid(30, 30, 30)]):
        d = c.update("SOLAR_MIN", g, [ev(1, 6)], float(t))
        assert d.total_a >= 6.0
    assert c.update("SOLAR_MIN", grid(10, 10, 10), [ev(1, 6)], 5).state == MINIMUM
    # two sessions: the minimum for each, on top of nothing
    d = c.update("SOLAR_MIN", grid(10, 10, 10), [ev(1, 6), ev(2, 6)], 6)
    assert d.total_a == 12.0 and d.per_connector == {1: 6.0, 2: 6.0}
    assert c.update("SOLAR_MIN", None, [ev(1, 6)], 7).total_a == 6.0
    assert c.update("SOLAR", None, [ev(1, 6)], 8).state == NO_MEASUREMENT


def test_phase_count_with_a_switch() -> None:
    c = SolarController(CFG, switchable=True)
    # 9 A of export: too little for 3 x 6 A, enough for 1 x 6 A; wanted after the delay
    assert c.update("SOLAR", grid(-3, -3, -3), [idle()], 0).phases == 3
    assert c.update("SOLAR", grid(-3, -3, -3), [idle()], 19).phases == 3
    assert c.update("SOLAR", grid(-3, -3, -3), [idle()], 20).phases == 1
    c.switched(1)
    assert c.active_phases == 1
    c.update("SOLAR", grid(-3, -3, -3), [idle()], 21)
    assert c.update("SOLAR", grid(-3, -3, -3), [idle()], 31).total_a == 9.0
    # 3 phases need 6 + 1 A (resume margin) each, for the delay: 20 A is not enough
    assert c.update("SOLAR", grid(-11, 0, 0), [ev(1, 9, phases=1)], 32).phases == 1
    for t in (40, 59):
        assert c.update("SOLAR", grid(-13, 0, 0), [ev(1, 9, phases=1)], t).phases == 1
    assert c.update("SOLAR", grid(-13, 0, 0), [ev(1, 9, phases=1)], 60).phases == 3
    # without a switch the phases never change
    fixed = SolarController(CFG)
    assert fixed.update("SOLAR", grid(-3, -3, -3), [idle()], 100).phases == 3
