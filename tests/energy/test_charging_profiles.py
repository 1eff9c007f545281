"""ChargingProfiles: validation, replacement, clearing, persistence (OCPP 1.6 SetChargingProfile
and ClearChargingProfile). The composite schedule is in test_charging_profiles_composite.py."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ncpa.energy.charging_profiles import ChargingProfile, ChargingProfiles, ProfileError
from ncpa.store import Store
from tests.energy.profile_helpers import (
    HOUR,
    T0,
    limits,
    open_profiles,
    profile,
    station_max,
    tx_profile,
)

OPEN_TX = {1: (7, T0)}  # connector 1 runs local transaction 7, started at T0


@pytest.fixture
async def profiles(tmp_path: Path) -> AsyncIterator[ChargingProfiles]:
    async for p in open_profiles(tmp_path):
        yield p


def _schedule(p: ChargingProfile, **kw: object) -> ChargingProfile:
    return dataclasses.replace(p, schedule=dataclasses.replace(p.schedule, **kw))


BASE = profile(1, [(0, 16.0)])


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (tx_profile(5, [(0, 10)]), "no transaction is active on connector 2"),
        (tx_profile(5, [(0, 10)], connector_id=0), "TxProfile cannot be on connector 0"),
        (
            tx_profile(5, [(0, 10)], connector_id=1, transaction_id=99),
            "TxProfile for transaction 99, but the transaction on connector 1 is 7",
        ),
        (station_max(5, [(0, 10)], connector_id=1), "must be on connector 0, not 1"),
        (station_max(5, [(0, 10)], kind="Relative"), "ChargePointMaxProfile cannot be Relative"),
        (profile(5, [(0, 10)], kind="Recurring"), "needs recurrencyKind"),
        (
            profile(5, [(0, 10)], kind="Recurring", recurrency="Monthly"),
            "recurrencyKind 'Monthly' is not one of",
        ),
        (
            profile(5, [(0, 10)], kind="Recurring", recurrency="Daily", start=None),
            "needs startSchedule",
        ),
        (profile(5, [(0, 10)], recurrency="Daily"), "recurrencyKind is only for Recurring"),
        (_schedule(profile(5, [(0, 10)], kind="Relative"), start_schedule=T0), "Relative"),
        (profile(5, [(60, 10)]), "the first period starts at 60, it must start at 0"),
        (profile(5, [(0, 10), (600, 8), (600, 6)]), "period 2: startPeriod 600 does not increase"),
        (profile(5, [(0, 10), (600, 8), (300, 6)]), "period 2: startPeriod 300 does not increase"),
        (profile(5, [(0, 10), (60, -1)]), "period 1: limit -1 is negative"),
        (profile(5, [(0, float("nan"))]), "limit nan is not a number"),
        (profile(5, [(0, 10, 4)]), "numberPhases 4 is not 1, 2 or 3"),
        (profile(5, [(0, 10)], unit="kW"), "chargingRateUnit 'kW' is not one of"),
        (profile(5, []), "chargingSchedulePeriod is empty"),
        (profile(5, [(0, 10)], purpose="TxMaxProfile"), "purpose 'TxMaxProfile' is not one of"),
        (profile(5, [(0, 10)], kind="Sometimes"), "kind 'Sometimes' is not one of"),
        (profile(5, [(0, 10)], duration=0), "duration 0 must be a number of seconds > 0"),
        (profile(5, [(0, 10)], duration=-5), "duration -5 must be"),
        (profile(5, [(0, 10)], valid_from=T0 + 10, valid_to=T0), "validFrom is not before"),
        (profile(5, [(0, 10)], transaction_id=7), "transactionId is only for TxProfile"),
        (profile(5, [(0, 10)], stack_level=-1), "stackLevel -1 < 0"),
        (profile(5, [(0, 10)], connector_id=-1), "connectorId -1 < 0"),
        (profile(5, [(0, 10)], min_rate=-6), "minChargingRate -6 must be a number >= 0"),
    ],
)
async def test_invalid_profile_is_rejected_and_changes_nothing(
    profiles: ChargingProfiles, bad: ChargingProfile, message: str
) -> None:
    if "connector 2" in message:
        bad = dataclasses.replace(bad, connector_id=2)
    await profiles.install(BASE, OPEN_TX)
    # same id as an installed profile: a rejected replacement must leave the old one
    bad = dataclasses.replace(bad, id=BASE.id)
    with pytest.raises(ProfileError, match=message.replace("(", r"\(")) as err:
        await profiles.install(bad, OPEN_TX)
    assert str(err.value).startswith("charging profile 1: ")
    assert profiles.profiles == [BASE]
    assert profiles.limit_amps(1, T0, None, 230, 3) == 16.0


async def test_tx_profile_gets_the_open_transaction_id(profiles: ChargingProfiles) -> None:
    await profiles.install(tx_profile(3, [(0, 10)]), OPEN_TX)
    assert profiles.profiles[0].transaction_id == 7
    await profiles.install(tx_profile(4, [(0, 10)], stack_level=1, transaction_id=7), OPEN_TX)
    assert [p.transaction_id for p in profiles.profiles] == [7, 7]


async def test_absolute_without_start_schedule_starts_when_installed(tmp_path: Path) -> None:
    async for profiles in open_profiles(tmp_path, now=T0 + 500):
        await profiles.install(profile(1, [(0, 10), (100, 6)], start=None), {})
        assert profiles.profiles[0].schedule.start_schedule == T0 + 500
        assert profiles.limit_amps(1, T0 + 599, None, 230, 3) == 10
        assert profiles.limit_amps(1, T0 + 600, None, 230, 3) == 6


async def test_same_id_replaces_whatever_else_differs(profiles: ChargingProfiles) -> None:
    await profiles.install(profile(1, [(0, 16)], connector_id=1, stack_level=0), {})
    await profiles.install(profile(1, [(0, 10)], connector_id=2, stack_level=3), {})
    assert [(p.id, p.connector_id, p.stack_level) for p in profiles.profiles] == [(1, 2, 3)]


async def test_same_stack_purpose_and_connector_replaces(profiles: ChargingProfiles) -> None:
    await profiles.install(profile(1, [(0, 16)], stack_level=2), {})
    await profiles.install(profile(2, [(0, 16)], stack_level=2, connector_id=2), {})
    await profiles.install(profile(3, [(0, 16)], stack_level=1), {})
    await profiles.install(station_max(4, [(0, 32)], stack_level=2), {})
    assert [p.id for p in profiles.profiles] == [1, 2, 3, 4]
    await profiles.install(profile(9, [(0, 8)], stack_level=2), {})  # replaces 1 only
    assert [p.id for p in profiles.profiles] == [2, 3, 4, 9]
    assert profiles.limit_amps(1, T0, None, 230, 3) == 8


async def test_clear_by_id_ignores_the_other_criteria(profiles: ChargingProfiles) -> None:
    await profiles.install(profile(1, [(0, 16)]), {})
    await profiles.install(profile(2, [(0, 16)], connector_id=2), {})
    assert await profiles.clear(id=2, connector_id=1, purpose="TxProfile", stack_level=5)
    assert [p.id for p in profiles.profiles] == [1]
    assert not await profiles.clear(id=2)


async def test_clear_combines_criteria(profiles: ChargingProfiles) -> None:
    await profiles.install(station_max(1, [(0, 32)]), {})
    await profiles.install(profile(2, [(0, 16)], connector_id=0, stack_level=1), {})
    await profiles.install(profile(3, [(0, 16)], connector_id=1, stack_level=1), {})
    await profiles.install(profile(4, [(0, 16)], connector_id=1, stack_level=2), {})
    await profiles.install(tx_profile(5, [(0, 16)], stack_level=1), OPEN_TX)
    assert not await profiles.clear(connector_id=2)
    assert await profiles.clear(connector_id=1, purpose="TxDefaultProfile", stack_level=1)
    assert [p.id for p in profiles.profiles] == [1, 2, 4, 5]
    assert await profiles.clear(stack_level=1)
    assert [p.id for p in profiles.profiles] == [1, 4]
    assert await profiles.clear(purpose="ChargePointMaxProfile")
    assert [p.id for p in profiles.profiles] == [4]
    assert await profiles.clear()
    assert profiles.profiles == []
    assert not await profiles.clear()


async def test_clear_with_unknown_purpose_is_an_error(profiles: ChargingProfiles) -> None:
    await profiles.install(profile(1, [(0, 16)]), {})
    with pytest.raises(ProfileError, match="purpose 'Max' is not one of"):
        await profiles.clear(purpose="Max")
    assert len(profiles.profiles) == 1


async def test_transaction_end_drops_only_its_tx_profiles(profiles: ChargingProfiles) -> None:
    running = {1: (7, T0), 2: (8, T0)}
    await profiles.install(tx_profile(1, [(0, 10)], connector_id=1), running)
    await profiles.install(tx_profile(2, [(0, 10)], connector_id=2), running)
    await profiles.install(profile(3, [(0, 16)], connector_id=1), running)
    await profiles.transaction_ended(1, 7)
    assert [p.id for p in profiles.profiles] == [2, 3]
    await profiles.retain_transactions([])
    assert [p.id for p in profiles.profiles] == [3]


async def test_profiles_survive_a_store_reopen(tmp_path: Path) -> None:
    installed = [
        station_max(1, [(0, 11000, 3)], unit="W", valid_from=T0 - HOUR, valid_to=T0 + HOUR),
        profile(2, [(0, 16), (HOUR, 10)], kind="Recurring", recurrency="Daily", min_rate=6),
        tx_profile(3, [(0, 12)], kind="Relative", duration=HOUR),
        profile(4, [(0, 20)], connector_id=0, stack_level=1),
    ]
    async for profiles in open_profiles(tmp_path):
        for p in installed:
            await profiles.install(p, OPEN_TX)
        await profiles.install(profile(5, [(0, 20)], stack_level=5), {})
        await profiles.clear(id=5)
        before = profiles.composite(1, T0, 2 * HOUR, "W", T0, 230, 3)
    async for profiles in open_profiles(tmp_path):
        assert [p.id for p in profiles.profiles] == [1, 2, 3, 4]
        assert profiles.profiles[2].transaction_id == 7
        assert profiles.profiles[0] == installed[0]
        assert profiles.composite(1, T0, 2 * HOUR, "W", T0, 230, 3) == before
        await profiles.transaction_ended(1, 7)
    async for profiles in open_profiles(tmp_path):
        assert [p.id for p in profiles.profiles] == [1, 2, 4]
        assert limits(profiles.composite(1, T0, 2 * HOUR, "A", None, 230, 3)) == [
            (0, 15.9),
            (HOUR, 10),
        ]


async def test_an_unreadable_row_is_skipped(tmp_path: Path) -> None:
    async for profiles in open_profiles(tmp_path):
        await profiles.install(profile(1, [(0, 16)]), {})
    store = await Store.open(tmp_path)
    await store.call(
        lambda c: c.execute(
            "INSERT INTO charging_profiles VALUES (2, 1, 'TxDefaultProfile', 3, '{\"x\": 1}')"
        )
    )
    await store.close()
    async for profiles in open_profiles(tmp_path):
        assert [p.id for p in profiles.profiles] == [1]


async def test_capacity_limits_of_the_ocpp_keys(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    profiles = ChargingProfiles(
        store, clock=lambda: T0, max_profiles=2, max_stack_level=3, max_periods=2
    )
    await profiles.load()
    try:
        await profiles.install(profile(1, [(0, 16)]), {})
        await profiles.install(profile(2, [(0, 16)], stack_level=3, connector_id=2), {})
        with pytest.raises(ProfileError, match="2 profiles are installed already"):
            await profiles.install(profile(3, [(0, 16)], stack_level=1), {})
        await profiles.install(profile(3, [(0, 10)]), {})  # replaces 1: still 2
        with pytest.raises(ProfileError, match="stackLevel 4 is above 3"):
            await profiles.install(profile(2, [(0, 16)], stack_level=4), {})
        with pytest.raises(ProfileError, match="3 periods, at most 2"):
            await profiles.install(profile(2, [(0, 16), (60, 8), (120, 6)]), {})
        assert [(p.id, p.schedule.periods[0].limit) for p in profiles.profiles] == [
            (2, 16),
            (3, 10),
        ]
    finally:
        await store.close()
