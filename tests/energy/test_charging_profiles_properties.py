"""Properties of the composite schedule, against a plain reading of OCPP 1.6 section 3.13."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ncpa.energy.charging_profiles import (
    ChargingProfile,
    ChargingProfiles,
    ChargingSchedule,
    ProfileError,
    SchedulePeriod,
    validate,
)
from ncpa.store import Store
from tests.energy.profile_helpers import DAY, T0, profile, station_max

TX_ID = 1
VOLTAGE = 230.0
PHASES = 3
DEFAULT = 99.0  # amps where no profile applies

# -- strategies -------------------------------------------------------------------------------

periods = st.lists(
    st.tuples(st.integers(1, 20_000), st.integers(0, 64), st.sampled_from([None, None, 1, 3])),
    max_size=4,
    unique_by=lambda p: p[0],
).map(lambda ps: sorted(ps))


@st.composite
def profiles(draw: st.DrawFn, pid: int) -> ChargingProfile:
    purpose, connector_id = draw(
        st.sampled_from(
            [
                ("ChargePointMaxProfile", 0),
                ("TxDefaultProfile", 0),
                ("TxDefaultProfile", 1),
                ("TxProfile", 1),
            ]
        )
    )
    kinds = ["Absolute", "Recurring"] + ([] if purpose == "ChargePointMaxProfile" else ["Relative"])
    kind = draw(st.sampled_from(kinds))
    unit = draw(st.sampled_from(["A", "W"]))
    scale = 1 if unit == "A" else 690
    first = draw(st.integers(0, 64))
    rest = draw(periods)
    valid_from = draw(st.none() | st.integers(-DAY, 2 * DAY))
    valid_to = draw(st.none() | st.integers(-DAY, 3 * DAY))
    if valid_from is not None and valid_to is not None and valid_to <= valid_from:
        valid_to = None
    return ChargingProfile(
        id=pid,
        connector_id=connector_id,
        stack_level=draw(st.integers(0, 3)),
        purpose=purpose,
        kind=kind,
        schedule=ChargingSchedule(
            unit,
            (
                SchedulePeriod(0, float(first * scale)),
                *(SchedulePeriod(s, float(lim * scale), n) for s, lim, n in rest),
            ),
            duration=draw(st.none() | st.integers(1, 30_000)),
            start_schedule=None if kind == "Relative" else T0 + draw(st.integers(-DAY, DAY)),
        ),
        recurrency="Daily" if kind == "Recurring" else None,
        valid_from=None if valid_from is None else T0 + valid_from,
        valid_to=None if valid_to is None else T0 + valid_to,
    )


profile_sets = st.integers(0, 6).flatmap(lambda n: st.tuples(*(profiles(i + 1) for i in range(n))))
tx_starts = st.none() | st.integers(-DAY, DAY).map(lambda s: T0 + s)


# -- a plain reading of the rules -------------------------------------------------------------


def oracle(
    installed: Sequence[ChargingProfile], cid: int, t: float, tx_start: float | None, start: float
) -> float | None:
    """The limit at t in amps, evaluated the long way (no bisect, no floor division)."""

    def amps_of(p: ChargingProfile) -> float | None:
        if (p.valid_from is not None and t < p.valid_from) or (
            p.valid_to is not None and t >= p.valid_to
        ):
            return None
        s = p.schedule
        if p.kind == "Relative":
            begin = tx_start if tx_start is not None else start
        else:
            assert s.start_schedule is not None
            begin = s.start_schedule
            if p.kind == "Recurring":
                while begin > t:
                    begin -= DAY
                while begin + DAY <= t:
                    begin += DAY
        if t < begin or (s.duration is not None and t - begin >= s.duration):
            return None
        period = [q for q in s.periods if q.start_period <= t - begin][-1]
        if s.charging_rate_unit == "A":
            return period.limit
        return period.limit / (VOLTAGE * (period.number_phases or PHASES))

    def best(purpose: str, connector: int) -> float | None:
        found = [
            (p.stack_level, a)
            for p in installed
            if p.purpose == purpose and p.connector_id == connector
            if (a := amps_of(p)) is not None
        ]
        return max(found)[1] if found else None

    charge = best("TxProfile", cid) if tx_start is not None else None
    if charge is None:
        charge = best("TxDefaultProfile", cid)
    if charge is None:
        charge = best("TxDefaultProfile", 0)
    cap = best("ChargePointMaxProfile", 0)
    values = [v for v in (charge, cap) if v is not None]
    return min(values) if values else None


def floor_tenth(x: float) -> float:
    return math.floor(x * 10 + 1e-6) / 10


def at(schedule: ChargingSchedule, offset: int) -> float:
    return [p for p in schedule.periods if p.start_period <= offset][-1].limit


@asynccontextmanager
async def engine_with(
    candidates: Sequence[ChargingProfile],
) -> AsyncIterator[tuple[ChargingProfiles, list[ChargingProfile]]]:
    """A fresh engine with the candidates that validate installed in order, and those
    installed in the end (after replacements)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(Path(tmp))
        try:
            engine = ChargingProfiles(store, clock=lambda: T0)
            await engine.load()
            for p in candidates:
                try:
                    validate(p, {1: (TX_ID, T0)}, T0)
                except ProfileError:
                    continue
                await engine.install(p, {1: (TX_ID, T0)})
            yield engine, engine.profiles
        finally:
            await store.close()


# NCPA_PROFILE_EXAMPLES=2000 for a longer hunt
PROPERTY = settings(
    max_examples=int(os.environ.get("NCPA_PROFILE_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@PROPERTY
@given(
    candidates=profile_sets,
    tx_start=tx_starts,
    start=st.integers(-DAY, 2 * DAY),
    duration=st.integers(1, 2 * DAY),
    samples=st.lists(st.floats(0, 1, exclude_max=True), min_size=5, max_size=20),
)
async def test_composite_matches_the_rules_and_is_well_formed(
    candidates: tuple[ChargingProfile, ...],
    tx_start: float | None,
    start: int,
    duration: int,
    samples: list[float],
) -> None:
    async with engine_with(candidates) as (engine, installed):
        begin = T0 + start
        schedule = engine.composite(
            1, begin, duration, "A", tx_start, VOLTAGE, PHASES, default_limit=DEFAULT
        )
        starts = [p.start_period for p in schedule.periods]
        # well formed: from 0, increasing, inside the window, merged where equal
        assert starts[0] == 0 and starts == sorted(set(starts)) and starts[-1] < duration
        for a, b in zip(schedule.periods, schedule.periods[1:], strict=False):
            assert (a.limit, a.number_phases) != (b.limit, b.number_phases)
        assert schedule.duration == duration and schedule.start_schedule == begin
        offsets = {int(s * duration) for s in samples} | set(starts)
        for offset in offsets:
            t = begin + offset
            expected = oracle(installed, 1, t, tx_start, begin)
            assert at(schedule, offset) == floor_tenth(DEFAULT if expected is None else expected)
            # the limit now agrees with the composite, for absolute schedules at least
            if not any(p.kind == "Relative" for p in installed) or tx_start is not None:
                now = engine.limit_amps(1, t, tx_start, VOLTAGE, PHASES)
                assert now == (None if expected is None else floor_tenth(expected))


@PROPERTY
@given(candidates=profile_sets, tx_start=tx_starts, start=st.integers(-DAY, 2 * DAY))
async def test_composite_never_exceeds_the_station_max(
    candidates: tuple[ChargingProfile, ...], tx_start: float | None, start: int
) -> None:
    async with engine_with(candidates) as (engine, installed):
        station_max = [p for p in installed if p.purpose == "ChargePointMaxProfile"]
        begin = T0 + start
        for unit, per_amp in (("A", 1.0), ("W", VOLTAGE * PHASES)):
            schedule = engine.composite(1, begin, DAY, unit, tx_start, VOLTAGE, PHASES)
            for period in schedule.periods:
                cap = oracle(station_max, 1, begin + period.start_period, tx_start, begin)
                if cap is not None and period.number_phases is None:
                    assert period.limit <= cap * per_amp + 1e-6


@PROPERTY
@given(
    candidates=profile_sets,
    limit=st.integers(0, 64),
    purpose=st.sampled_from(["TxDefaultProfile", "ChargePointMaxProfile"]),
    t=st.integers(-DAY, 2 * DAY),
)
async def test_the_highest_stack_level_wins(
    candidates: tuple[ChargingProfile, ...], limit: int, purpose: str, t: int
) -> None:
    """A profile on top of every other of its purpose, in force for ever, decides that
    purpose: what it allows, capped by the station max (or capping the charge profiles)."""
    async with engine_with(candidates) as (engine, installed):
        others = [p for p in installed if p.purpose != purpose or p.connector_id != 0]
        top = profile(
            99, [(0, limit)], connector_id=0, stack_level=10, purpose=purpose, start=T0 - 2 * DAY
        )
        await engine.install(top, {})
        now = T0 + t
        got = engine.limit_amps(1, now, None, VOLTAGE, PHASES)
        station_max = [p for p in others if p.purpose == "ChargePointMaxProfile"]
        if purpose == "TxDefaultProfile":
            # on connector 0 it gives way only to a TxDefaultProfile of connector 1 in force
            own = [p for p in others if p.purpose == purpose and p.connector_id == 1]
            charge = oracle(own, 1, now, None, now)
            cap = oracle(station_max, 1, now, None, now)
            values = [float(limit) if charge is None else charge, cap]
        else:
            values = [float(limit), oracle(others, 1, now, None, now)]
        expected = min(v for v in values if v is not None)
        assert got == floor_tenth(expected)


@PROPERTY
@given(candidates=profile_sets, tx_start=tx_starts, start=st.integers(-DAY, 2 * DAY))
async def test_a_station_max_never_raises_a_limit(
    candidates: tuple[ChargingProfile, ...], tx_start: float | None, start: int
) -> None:
    async with engine_with([p for p in candidates if p.purpose != "ChargePointMaxProfile"]) as (
        engine,
        _,
    ):
        begin = T0 + start
        before = engine.composite(1, begin, DAY, "A", tx_start, VOLTAGE, PHASES, default_limit=80)
        cap = station_max(98, [(0, 12), (3600, 30)], stack_level=50, start=None)
        await engine.install(cap, {})
        after = engine.composite(1, begin, DAY, "A", tx_start, VOLTAGE, PHASES, default_limit=80)
        for offset in {p.start_period for p in before.periods + after.periods}:
            assert at(after, offset) <= at(before, offset)


@PROPERTY
@given(
    candidates=profile_sets,
    tx_start=tx_starts,
    now=st.integers(-DAY, 2 * DAY),
    samples=st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=10),
)
async def test_the_limit_holds_until_the_next_change(
    candidates: tuple[ChargingProfile, ...],
    tx_start: float | None,
    now: int,
    samples: list[float],
) -> None:
    """What the CsmsLimitSource timer relies on: nothing changes before next_change()."""
    async with engine_with(candidates) as (engine, installed):
        if tx_start is None and any(p.kind == "Relative" for p in installed):
            return  # without a transaction a Relative profile restarts at every evaluation
        t0 = T0 + now
        due = engine.next_change(1, t0, tx_start)
        until = due if due is not None else t0 + 8 * DAY
        assert until > t0
        first = engine.limit_amps(1, t0, tx_start, VOLTAGE, PHASES)
        for s in samples:
            t = t0 + s * (until - t0)
            if t >= until:  # float rounding at epoch magnitudes
                continue
            assert engine.limit_amps(1, t, tx_start, VOLTAGE, PHASES) == first
