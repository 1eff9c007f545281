"""Builders for charging profiles in tests: short to write, OCPP defaults elsewhere."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ncpa.energy.charging_profiles import (
    ChargingProfile,
    ChargingProfiles,
    ChargingSchedule,
    SchedulePeriod,
)
from ncpa.store import Store

# Thursday 2026-01-08 00:00:00 UTC
T0 = datetime(2026, 1, 8, tzinfo=UTC).timestamp()
HOUR = 3600
DAY = 86_400


def profile(
    id: int,
    periods: Sequence[tuple[int, float] | tuple[int, float, int | None]],
    *,
    connector_id: int = 1,
    stack_level: int = 0,
    purpose: str = "TxDefaultProfile",
    kind: str = "Absolute",
    unit: str = "A",
    start: float | None = T0,
    duration: int | None = None,
    recurrency: str | None = None,
    valid_from: float | None = None,
    valid_to: float | None = None,
    transaction_id: int | None = None,
    min_rate: float | None = None,
) -> ChargingProfile:
    return ChargingProfile(
        id=id,
        connector_id=connector_id,
        stack_level=stack_level,
        purpose=purpose,
        kind=kind,
        schedule=ChargingSchedule(
            charging_rate_unit=unit,
            periods=tuple(SchedulePeriod(*p) for p in periods),
            duration=duration,
            start_schedule=None if kind == "Relative" else start,
            min_charging_rate=min_rate,
        ),
        recurrency=recurrency,
        valid_from=valid_from,
        valid_to=valid_to,
        transaction_id=transaction_id,
    )


def station_max(id: int, periods: list[tuple[int, float]], **kw: Any) -> ChargingProfile:
    kw.setdefault("connector_id", 0)
    return profile(id, periods, purpose="ChargePointMaxProfile", **kw)


def tx_profile(id: int, periods: list[tuple[int, float]], **kw: Any) -> ChargingProfile:
    return profile(id, periods, purpose="TxProfile", **kw)


def limits(schedule: ChargingSchedule) -> list[tuple[int, float]]:
    """(startPeriod, limit) pairs of a composite schedule."""
    return [(p.start_period, p.limit) for p in schedule.periods]


async def open_profiles(data_dir: Path, now: float = T0) -> AsyncIterator[ChargingProfiles]:
    store = await Store.open(data_dir)
    profiles = ChargingProfiles(store, clock=lambda: now)
    await profiles.load()
    try:
        yield profiles
    finally:
        await store.close()
