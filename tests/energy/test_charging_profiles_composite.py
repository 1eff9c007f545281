"""The composite schedule (OCPP 1.6 section 3.13): stacking, purposes, kinds, units, windows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ncpa.energy.charging_profiles import ChargingProfiles, ProfileError, SchedulePeriod
from tests.energy.profile_helpers import (
    DAY,
    HOUR,
    T0,
    limits,
    open_profiles,
    profile,
    station_max,
    tx_profile,
)


@pytest.fixture
async def profiles(tmp_path: Path) -> AsyncIterator[ChargingProfiles]:
    async for p in open_profiles(tmp_path):
        yield p


# -- worked examples ----------------------------------------------------------------------


async def test_stacking_example_of_the_compliance_tool(profiles: ChargingProfiles) -> None:
    """TC_072_CS (OCPP 1.6 compliance tests, "Stacking Charging Profiles"): stack level 0
    for 400 s (6, 8, 10 A at 0, 100, 200 s) and stack level 1 for 150 s on top. Past the
    end of the stack-1 schedule, stack level 0 is in force again."""
    await profiles.install(
        profile(1, [(0, 6), (100, 8), (200, 10)], stack_level=0, duration=400), {}
    )
    await profiles.install(profile(2, [(0, 12), (50, 7)], stack_level=1, duration=150), {})
    schedule = profiles.composite(1, T0, 400, "A", None, 230, 3)
    assert limits(schedule) == [(0, 12), (50, 7), (150, 8), (200, 10)]
    assert (schedule.duration, schedule.start_schedule, schedule.charging_rate_unit) == (
        400,
        T0,
        "A",
    )
    # the same in W: 7 A x 230 V x 3 phases
    assert limits(profiles.composite(1, T0 + 50, 150, "W", None, 230, 3)) == [
        (0, 4830),
        (100, 5520),
    ]


async def test_purposes_example_of_the_spec(profiles: ChargingProfiles) -> None:
    """OCPP 1.6 3.13.4 "Combining Charging Profile Purposes": the ChargePointMaxProfile
    caps what the TxProfile (which overrides the TxDefaultProfile) allows; the composite is
    the minimum at each moment."""
    await profiles.install(station_max(1, [(0, 20), (2 * HOUR, 10)], duration=4 * HOUR), {})
    await profiles.install(profile(2, [(0, 32)], connector_id=0), {})  # TxDefault, all
    await profiles.install(
        tx_profile(3, [(0, 16), (HOUR, 24), (3 * HOUR, 6)], stack_level=0),
        {1: (1, T0)},
    )
    assert limits(profiles.composite(1, T0, 5 * HOUR, "A", T0, 230, 3)) == [
        (0, 16),  # TxProfile 16 < max 20
        (HOUR, 20),  # TxProfile 24 capped by max 20
        (2 * HOUR, 10),  # max drops to 10
        (3 * HOUR, 6),  # TxProfile 6 < 10
    ]
    # without a transaction the TxProfile is not in force: TxDefault 32, capped
    assert limits(profiles.composite(1, T0, 5 * HOUR, "A", None, 230, 3)) == [
        (0, 20),
        (2 * HOUR, 10),
        (4 * HOUR, 32),
    ]


async def test_weekend_profile_stacked_on_a_daily_one(profiles: ChargingProfiles) -> None:
    """OCPP 1.6 3.13.3 "Stacking charging profiles": a daily TxDefaultProfile (16 A, 8 A
    from 08:00 to 20:00) with a stack-1 profile valid only on the weekend (32 A)."""
    await profiles.install(
        profile(
            1,
            [(0, 16), (8 * HOUR, 8), (20 * HOUR, 16)],
            kind="Recurring",
            recurrency="Daily",
        ),
        {},
    )
    saturday = T0 + 2 * DAY  # T0 is a Thursday
    await profiles.install(
        profile(2, [(0, 32)], stack_level=1, valid_from=saturday, valid_to=saturday + 2 * DAY),
        {},
    )
    friday_7am = T0 + DAY + 7 * HOUR
    assert limits(profiles.composite(1, friday_7am, 2 * DAY, "A", None, 230, 3)) == [
        (0, 16),
        (HOUR, 8),
        (13 * HOUR, 16),
        (17 * HOUR, 32),  # Saturday 00:00, until the end (Sunday 07:00)
    ]


# -- purposes, connectors, stack levels ------------------------------------------------------


async def test_connector_default_overrides_the_station_default(profiles: ChargingProfiles) -> None:
    await profiles.install(profile(1, [(0, 20)], connector_id=0, stack_level=5), {})
    await profiles.install(profile(2, [(0, 10)], connector_id=2, stack_level=0, duration=HOUR), {})
    assert profiles.limit_amps(1, T0, None, 230, 3) == 20
    assert profiles.limit_amps(2, T0, None, 230, 3) == 10  # lower stack level, still wins
    assert limits(profiles.composite(2, T0, 2 * HOUR, "A", None, 230, 3)) == [(0, 10), (HOUR, 20)]


async def test_tx_profile_overrides_tx_default_at_any_stack_level(
    profiles: ChargingProfiles,
) -> None:
    await profiles.install(profile(1, [(0, 6)], stack_level=9), {})
    await profiles.install(tx_profile(2, [(0, 20)], stack_level=0), {1: (4, T0)})
    assert profiles.limit_amps(1, T0, T0, 230, 3) == 20
    assert profiles.limit_amps(1, T0, None, 230, 3) == 6


async def test_highest_stack_level_in_its_validity_window(profiles: ChargingProfiles) -> None:
    await profiles.install(profile(1, [(0, 16)], stack_level=0), {})
    await profiles.install(
        profile(2, [(0, 8)], stack_level=2, valid_from=T0 + 100, valid_to=T0 + 200), {}
    )
    await profiles.install(profile(3, [(0, 12)], stack_level=1, valid_to=T0 + 150), {})
    assert limits(profiles.composite(1, T0, 300, "A", None, 230, 3)) == [
        (0, 12),
        (100, 8),
        (200, 16),
    ]


async def test_station_max_caps_every_connector(profiles: ChargingProfiles) -> None:
    await profiles.install(station_max(1, [(0, 13)]), {})
    for cid in (1, 2):
        assert profiles.limit_amps(cid, T0, None, 230, 3) == 13
    # connector 0: the station as a whole, only its maximum
    await profiles.install(profile(2, [(0, 6)], connector_id=0), {})
    assert limits(profiles.composite(0, T0, 60, "A", None, 230, 3)) == [(0, 13)]
    # two charging connectors share it
    assert profiles.limit_amps(1, T0, T0, 230, 3, station_share=0.5) == 6
    assert profiles.limit_amps(1, T0, T0, 230, 3, station_share=1.0) == 6


# -- kinds ----------------------------------------------------------------------------------


async def test_relative_runs_from_the_transaction_start(profiles: ChargingProfiles) -> None:
    await profiles.install(profile(1, [(0, 10), (600, 16)], kind="Relative", duration=3600), {})
    tx_start = T0 + 1000
    assert limits(profiles.composite(1, T0 + 1300, 7200, "A", tx_start, 230, 3)) == [
        (0, 10),
        (300, 16),
    ]
    assert profiles.composite(1, T0 + 1300, 7200, "A", tx_start, 230, 3).duration == 3300
    # no transaction: as if it started at the time asked about
    assert limits(profiles.composite(1, T0, 7200, "A", None, 230, 3)) == [(0, 10), (600, 16)]
    assert profiles.limit_amps(1, T0 + 99_999, None, 230, 3) == 10


async def test_recurring_weekly(profiles: ChargingProfiles) -> None:
    # Thursdays 00:00-06:00 at 6 A, then 16 A for the rest of the week
    await profiles.install(
        profile(1, [(0, 6), (6 * HOUR, 16)], kind="Recurring", recurrency="Weekly"), {}
    )
    next_thursday = T0 + 7 * DAY
    assert profiles.limit_amps(1, next_thursday + 5 * HOUR, None, 230, 3) == 6
    assert profiles.limit_amps(1, next_thursday - 1, None, 230, 3) == 16
    assert profiles.next_change(1, next_thursday - 10, None) == next_thursday


async def test_recurring_with_duration_leaves_gaps(profiles: ChargingProfiles) -> None:
    # night tariff 22:00-06:00, nothing by day
    await profiles.install(
        profile(
            1,
            [(0, 32)],
            kind="Recurring",
            recurrency="Daily",
            start=T0 - 2 * HOUR,
            duration=8 * HOUR,
        ),
        {},
    )
    assert profiles.limit_amps(1, T0 + 12 * HOUR, None, 230, 3) is None
    noon = T0 + 12 * HOUR
    with_default = profiles.composite(1, noon, DAY, "A", None, 230, 3, default_limit=20)
    assert limits(with_default) == [(0, 20), (10 * HOUR, 32), (18 * HOUR, 20)]
    assert with_default.duration == DAY
    # without a default: only the first stretch in which a profile applies
    trimmed = profiles.composite(1, noon, DAY, "A", None, 230, 3)
    assert limits(trimmed) == [(10 * HOUR, 32)]
    assert trimmed.duration == 18 * HOUR


# -- units ----------------------------------------------------------------------------------


async def test_watts_to_amps_and_back(profiles: ChargingProfiles) -> None:
    await profiles.install(profile(1, [(0, 11000), (60, 7360, 1)], unit="W"), {})
    # 11000 W / (230 V x 3) = 15.94 A, rounded down
    assert profiles.limit_amps(1, T0, None, 230, 3) == 15.9
    assert profiles.limit_amps(1, T0, None, 230, 1) == 47.8
    assert profiles.limit_amps(1, T0, None, 240, 3) == 15.2
    # numberPhases of the period overrides the station's phases
    assert profiles.limit_amps(1, T0 + 60, None, 230, 3) == 32.0
    in_w = profiles.composite(1, T0, 120, "W", None, 230, 3)
    assert in_w.periods == (SchedulePeriod(0, 11000.0), SchedulePeriod(60, 7360.0, 1))
    in_a = profiles.composite(1, T0, 120, "A", None, 230, 3)
    assert in_a.periods == (SchedulePeriod(0, 15.9), SchedulePeriod(60, 32.0, 1))


async def test_mixed_units_compare_in_amps(profiles: ChargingProfiles) -> None:
    await profiles.install(station_max(1, [(0, 6900)], unit="W"), {})  # 10 A at 230 V x 3
    await profiles.install(profile(2, [(0, 16), (60, 8)]), {})
    assert limits(profiles.composite(1, T0, 120, "A", None, 230, 3)) == [(0, 10), (60, 8)]
    assert limits(profiles.composite(1, T0, 120, "W", None, 230, 3)) == [(0, 6900), (60, 5520)]


async def test_min_charging_rate_is_reported(profiles: ChargingProfiles) -> None:
    await profiles.install(profile(1, [(0, 16)], min_rate=6), {})
    assert profiles.composite(1, T0, 60, "A", None, 230, 3).min_charging_rate == 6
    assert profiles.composite(1, T0, 60, "W", None, 230, 3).min_charging_rate == 4140
    await profiles.install(profile(1, [(0, 16)]), {})
    assert profiles.composite(1, T0, 60, "A", None, 230, 3).min_charging_rate is None


# -- edges ----------------------------------------------------------------------------------


async def test_no_profile(profiles: ChargingProfiles) -> None:
    assert profiles.limit_amps(1, T0, None, 230, 3) is None
    empty = profiles.composite(1, T0, 600, "A", None, 230, 3)
    assert (empty.periods, empty.duration, empty.start_schedule) == ((), 0, T0)
    assert profiles.next_change(1, T0, None) is None
    full = profiles.composite(1, T0, 600, "W", None, 230, 3, default_limit=16)
    assert limits(full) == [(0, 11040)]


async def test_bad_requests(profiles: ChargingProfiles) -> None:
    with pytest.raises(ProfileError, match="chargingRateUnit 'kW'"):
        profiles.composite(1, T0, 600, "kW", None, 230, 3)
    with pytest.raises(ProfileError, match="duration -1"):
        profiles.composite(1, T0, -1, "A", None, 230, 3)
    with pytest.raises(ProfileError, match="voltage 0"):
        profiles.limit_amps(1, T0, None, 0, 3)
    with pytest.raises(ProfileError, match="phases 4"):
        profiles.limit_amps(1, T0, None, 230, 4)


async def test_next_change(profiles: ChargingProfiles) -> None:
    await profiles.install(profile(1, [(0, 16), (600, 10)], duration=1200, valid_to=T0 + 900), {})
    assert profiles.next_change(1, T0, None) == T0 + 600
    assert profiles.next_change(1, T0 + 600, None) == T0 + 900
    assert profiles.next_change(1, T0 + 900, None) is None
    await profiles.install(tx_profile(2, [(0, 6), (60, 8)], kind="Relative"), {1: (1, T0)})
    assert profiles.next_change(1, T0, T0 + 10) == T0 + 10  # the TxProfile begins
    assert profiles.next_change(1, T0 + 10, T0 + 10) == T0 + 70
    assert profiles.next_change(1, T0, None) == T0 + 600  # TxProfile: only in a transaction


async def test_fractional_start_gives_whole_second_periods(profiles: ChargingProfiles) -> None:
    await profiles.install(profile(1, [(0, 16), (600, 10)]), {})
    schedule = profiles.composite(1, T0 + 0.4, 900, "A", None, 230, 3)
    assert limits(schedule) == [(0, 16), (600, 10)]


# -- what the reference central systems send (INTEROP.md) -----------------------------------


async def test_go_csms_tx_profile_in_amps_at_start_removed_at_stop(
    profiles: ChargingProfiles,
) -> None:
    """csms-rest-api (Go): SetChargingProfile in A when a transaction starts and stops."""
    await profiles.install(profile(1, [(0, 32)], connector_id=0), {})
    running = {1: (12, T0)}
    await profiles.install(tx_profile(55, [(0, 10.0)], kind="Relative"), running)
    assert profiles.limit_amps(1, T0 + 5, T0, 230, 3) == 10
    await profiles.transaction_ended(1, 12)
    assert [p.id for p in profiles.profiles] == [1]
    assert profiles.limit_amps(1, T0 + 5, None, 230, 3) == 32
    # next transaction: a new TxProfile, and one for a stopped transaction is refused
    with pytest.raises(ProfileError, match="no transaction is active on connector 1"):
        await profiles.install(tx_profile(56, [(0, 8.0)]), {})


async def test_ocpp_core_tx_default_id_100_stack_1(profiles: ChargingProfiles) -> None:
    """OCPP.Core: TxDefaultProfile id 100 stack level 1 (sent again whenever it likes)."""
    await profiles.install(profile(7, [(0, 20)], connector_id=0, stack_level=1), {})
    for limit in (16, 11, 11):
        await profiles.install(
            profile(100, [(0, limit * 690)], connector_id=0, stack_level=1, unit="W"), {}
        )
    assert [p.id for p in profiles.profiles] == [100]  # id 7 had the same stack and purpose
    for cid in (1, 2):
        assert profiles.limit_amps(cid, T0, None, 230, 3) == 11


async def test_python_csms_profiles_in_watts(profiles: ChargingProfiles) -> None:
    """smart-charging-api (Python): ChargePointMaxProfile, a Recurring Daily TxDefaultProfile
    (time of use: 7 kW from 09:00 to 17:00, 11 kW otherwise) and a TxProfile, all in W."""
    await profiles.install(station_max(1, [(0, 22000)], unit="W"), {})
    await profiles.install(
        profile(
            2,
            [(0, 11000), (9 * HOUR, 7000), (17 * HOUR, 11000)],
            unit="W",
            kind="Recurring",
            recurrency="Daily",
            connector_id=1,
        ),
        {},
    )
    # measured 235 V, 3 phases: 7000 / 705 = 9.93 A
    assert profiles.limit_amps(1, T0 + DAY + 10 * HOUR, None, 235, 3) == 9.9
    # across midnight the next day's occurrence takes over
    evening = T0 + 3 * DAY + 16 * HOUR
    assert limits(profiles.composite(1, evening, 18 * HOUR, "W", None, 230, 3)) == [
        (0, 7000),
        (HOUR, 11000),
        (17 * HOUR, 7000),
    ]
    running = {1: (3, evening)}
    # energy cap scenario: TxProfile (transactionId 1234 at the CSMS, mapped to local 3)
    await profiles.install(
        tx_profile(3, [(0, 30000)], unit="W", kind="Relative", duration=7200), running
    )
    assert profiles.limit_amps(1, evening + 60, evening, 230, 3) == 31.8  # 22000 W cap
    assert profiles.limit_amps(1, evening + 1800, evening, 230, 3) == 31.8
    # past its duration (18:00): the TxDefault's 11 kW again
    assert profiles.limit_amps(1, evening + 7200, evening, 230, 3) == 15.9
