"""OCPP 1.6 smart charging: installed charging profiles and the composite schedule.

The OCPP client turns SetChargingProfile / ClearChargingProfile / GetCompositeSchedule
into calls on `ChargingProfiles`; `CsmsLimitSource` (csms_limit.py) turns the composite
limit of each connector into the "csms" source of the current limit.

Rules (OCPP 1.6 section 3.13, with the 2.0.1 clarifications where 1.6 is silent):
- Within one purpose, the profile in force with the highest stack level wins. A profile is
  in force at time t when t is inside [validFrom, validTo) and inside its schedule
  [schedule start, schedule start + duration); past its duration, a lower stack level
  takes over again.
- TxProfile overrides TxDefaultProfile; a TxDefaultProfile on the connector overrides one on
  connector 0; ChargePointMaxProfile (connector 0 only) caps the result: the composite is
  the minimum of the two, compared in amps per phase.
- Kinds: Absolute (from startSchedule; when the CSMS leaves it out, from the moment the
  profile was installed), Recurring (Daily/Weekly, anchored at startSchedule: the latest
  occurrence at or before t), Relative (from the transaction start; with no transaction,
  as if one started at the time asked about).
- A TxProfile applies only while a transaction runs (tx_start given).
- Units: W is turned into amps per phase with W / (voltage * phases), where the period's
  numberPhases, when given, overrides the station's phase count.
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import json
import math
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from ncpa.log import get_logger
from ncpa.store import Store, atomic

log = get_logger(__name__)

CHARGE_POINT_MAX = "ChargePointMaxProfile"
TX_DEFAULT = "TxDefaultProfile"
TX = "TxProfile"
PURPOSES = (CHARGE_POINT_MAX, TX_DEFAULT, TX)

ABSOLUTE = "Absolute"
RECURRING = "Recurring"
RELATIVE = "Relative"
KINDS = (ABSOLUTE, RECURRING, RELATIVE)

RECURRENCY_SECONDS = {"Daily": 86_400, "Weekly": 7 * 86_400}
UNITS = ("A", "W")

_MIGRATIONS = [
    """
    CREATE TABLE charging_profiles (
        id           INTEGER PRIMARY KEY,
        connector_id INTEGER NOT NULL,
        purpose      TEXT NOT NULL,
        stack_level  INTEGER NOT NULL,
        data         TEXT NOT NULL
    );
    """,
]


@dataclass(frozen=True)
class SchedulePeriod:
    start_period: int  # seconds from the start of the schedule
    limit: float  # in the schedule's unit (A per phase, or W in total)
    number_phases: int | None = None


@dataclass(frozen=True)
class ChargingSchedule:
    charging_rate_unit: str  # "A" | "W"
    periods: tuple[SchedulePeriod, ...]
    duration: int | None = None
    start_schedule: float | None = None  # epoch seconds
    min_charging_rate: float | None = None
    schedule_id: int | None = None  # OCPP 2.0.1 chargingSchedule.id (reported back as given)


@dataclass(frozen=True)
class ChargingProfile:
    id: int
    connector_id: int  # 0 = whole station
    stack_level: int
    purpose: str  # ChargePointMaxProfile | TxDefaultProfile | TxProfile
    kind: str  # Absolute | Recurring | Relative
    schedule: ChargingSchedule
    recurrency: str | None = None  # Daily | Weekly
    valid_from: float | None = None
    valid_to: float | None = None
    transaction_id: int | None = None  # local transaction id (TxProfile)


class ProfileError(ValueError):
    """A profile (or a request about profiles) is invalid; the message says what is wrong."""


# -- validation ---------------------------------------------------------------------------


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _check_schedule(s: ChargingSchedule, where: str) -> ChargingSchedule:
    def need(ok: bool, msg: str) -> None:
        if not ok:
            raise ProfileError(f"{where}: {msg}")

    need(
        s.charging_rate_unit in UNITS,
        f"chargingRateUnit {s.charging_rate_unit!r} is not one of {UNITS}",
    )
    need(len(s.periods) > 0, "chargingSchedulePeriod is empty")
    previous = -1
    for i, p in enumerate(s.periods):
        need(_is_int(p.start_period), f"period {i}: startPeriod {p.start_period!r} is not an int")
        need(
            i > 0 or p.start_period == 0,
            f"the first period starts at {p.start_period}, it must start at 0",
        )
        need(
            p.start_period > previous,
            f"period {i}: startPeriod {p.start_period} does not increase (previous {previous})",
        )
        previous = p.start_period
        need(_is_number(p.limit), f"period {i}: limit {p.limit!r} is not a number")
        need(p.limit >= 0, f"period {i}: limit {p.limit} is negative")
        need(
            p.number_phases is None or (_is_int(p.number_phases) and 1 <= p.number_phases <= 3),
            f"period {i}: numberPhases {p.number_phases!r} is not 1, 2 or 3",
        )
    need(
        s.duration is None or (_is_int(s.duration) and s.duration > 0),
        f"duration {s.duration!r} must be a number of seconds > 0 (leave it out for no end)",
    )
    need(
        s.start_schedule is None or _is_number(s.start_schedule),
        f"startSchedule {s.start_schedule!r} is not a time",
    )
    need(
        s.min_charging_rate is None
        or (_is_number(s.min_charging_rate) and s.min_charging_rate >= 0),
        f"minChargingRate {s.min_charging_rate!r} must be a number >= 0",
    )
    periods = tuple(dataclasses.replace(p, limit=float(p.limit)) for p in s.periods)
    return dataclasses.replace(s, periods=periods)


def validate(
    profile: ChargingProfile,
    open_transactions: dict[int, tuple[int, float]],
    now: float,
) -> ChargingProfile:
    """Check a profile as SetChargingProfile would; return it ready to install.

    Fills in what OCPP leaves implicit: the transaction id of a TxProfile (the open one on
    its connector) and the start of an Absolute schedule without startSchedule (now).
    """
    p = profile
    where = f"charging profile {p.id}"

    def need(ok: bool, msg: str) -> None:
        if not ok:
            raise ProfileError(f"{where}: {msg}")

    need(_is_int(p.id), f"id {p.id!r} is not an int")
    need(_is_int(p.connector_id) and p.connector_id >= 0, f"connectorId {p.connector_id!r} < 0")
    need(_is_int(p.stack_level) and p.stack_level >= 0, f"stackLevel {p.stack_level!r} < 0")
    need(p.purpose in PURPOSES, f"purpose {p.purpose!r} is not one of {PURPOSES}")
    need(p.kind in KINDS, f"kind {p.kind!r} is not one of {KINDS}")
    schedule = _check_schedule(p.schedule, where)
    if p.kind == RECURRING:
        need(p.recurrency is not None, "a Recurring profile needs recurrencyKind")
        need(
            p.recurrency in RECURRENCY_SECONDS,
            f"recurrencyKind {p.recurrency!r} is not one of {tuple(RECURRENCY_SECONDS)}",
        )
        need(
            schedule.start_schedule is not None,
            "a Recurring profile needs startSchedule (the start of the recurrence)",
        )
    else:
        need(p.recurrency is None, f"recurrencyKind is only for Recurring, not {p.kind}")
    if p.kind == RELATIVE:
        need(
            schedule.start_schedule is None,
            "a Relative profile starts with the transaction, it cannot have a startSchedule",
        )
    elif p.kind == ABSOLUTE and schedule.start_schedule is None:
        schedule = dataclasses.replace(schedule, start_schedule=now)
    for name in ("valid_from", "valid_to"):
        value = getattr(p, name)
        need(value is None or _is_number(value), f"{name} {value!r} is not a time")
    if p.valid_from is not None and p.valid_to is not None:
        need(p.valid_from < p.valid_to, "validFrom is not before validTo")

    transaction_id = p.transaction_id
    if p.purpose == CHARGE_POINT_MAX:
        need(
            p.connector_id == 0,
            f"ChargePointMaxProfile must be on connector 0, not {p.connector_id}",
        )
        need(p.kind != RELATIVE, "ChargePointMaxProfile cannot be Relative (no transaction)")
    if p.purpose != TX:
        need(transaction_id is None, f"transactionId is only for TxProfile, not {p.purpose}")
    else:
        need(p.connector_id != 0, "TxProfile cannot be on connector 0")
        open_tx = open_transactions.get(p.connector_id)
        need(
            open_tx is not None,
            f"TxProfile: no transaction is active on connector {p.connector_id}",
        )
        assert open_tx is not None
        need(
            transaction_id is None or transaction_id == open_tx[0],
            f"TxProfile for transaction {transaction_id}, but the transaction on connector "
            f"{p.connector_id} is {open_tx[0]}",
        )
        transaction_id = open_tx[0]
    return dataclasses.replace(p, schedule=schedule, transaction_id=transaction_id)


# -- persistence --------------------------------------------------------------------------


def profile_to_json(profile: ChargingProfile) -> str:
    return json.dumps(dataclasses.asdict(profile), sort_keys=True)


def profile_from_json(text: str) -> ChargingProfile:
    data: dict[str, Any] = json.loads(text)
    sched: dict[str, Any] = data.pop("schedule")
    periods = tuple(SchedulePeriod(**p) for p in sched.pop("periods"))
    return ChargingProfile(**data, schedule=ChargingSchedule(**sched, periods=periods))


# -- evaluation ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Limit:
    """What one profile allows at one instant, in amps per phase."""

    amps: float
    number_phases: int | None
    profile: ChargingProfile | None  # None: the caller's default where no profile applies


def _to_amps(value: float, unit: str, voltage: float, phases: int) -> float:
    return value if unit == "A" else value / (voltage * phases)


def _from_amps(amps: float, unit: str, voltage: float, phases: int) -> float:
    return amps if unit == "A" else amps * voltage * phases


def _floor_tenth(value: float) -> float:
    # OCPP limits have one decimal; round down (a limit is never raised), but let float
    # noise such as 10999.9999999 (from 11000 W -> A -> W) count as 11000.0
    return math.floor(value * 10 + 1e-6) / 10


class _Context:
    """Everything an evaluation needs besides the time."""

    def __init__(
        self,
        tx_start: float | None,
        relative_anchor: float,
        voltage: float,
        phases: int,
        station_share: float,
    ) -> None:
        if not (_is_number(voltage) and voltage > 0):
            raise ProfileError(f"voltage {voltage!r} must be > 0")
        if phases not in (1, 2, 3):
            raise ProfileError(f"phases {phases!r} is not 1, 2 or 3")
        if not (_is_number(station_share) and 0 < station_share <= 1):
            raise ProfileError(f"station_share {station_share!r} must be in (0, 1]")
        self.tx_start = tx_start
        # a Relative profile starts with the transaction; without one, as if it started now
        self.relative_anchor = tx_start if tx_start is not None else relative_anchor
        self.voltage = voltage
        self.phases = phases
        self.station_share = station_share

    def anchor(self, p: ChargingProfile, t: float) -> float:
        """The start of the schedule (occurrence) that applies at time t."""
        s = p.schedule
        if p.kind == RELATIVE or s.start_schedule is None:
            return self.relative_anchor
        if p.kind == RECURRING:
            every = RECURRENCY_SECONDS[p.recurrency or ""]
            return s.start_schedule + math.floor((t - s.start_schedule) / every) * every
        return s.start_schedule

    def anchors(self, p: ChargingProfile, a: float, b: float) -> Iterator[float]:
        """Every schedule start that can matter in [a, b)."""
        s = p.schedule
        if p.kind == RECURRING and s.start_schedule is not None:
            every = RECURRENCY_SECONDS[p.recurrency or ""]
            k = math.floor((a - s.start_schedule) / every)
            while s.start_schedule + k * every < b:
                yield s.start_schedule + k * every
                k += 1
        else:
            yield self.anchor(p, a)

    def limit(self, p: ChargingProfile, t: float) -> _Limit | None:
        """The limit that profile p sets at time t, or None when it is not in force."""
        if p.valid_from is not None and t < p.valid_from:
            return None
        if p.valid_to is not None and t >= p.valid_to:
            return None
        anchor = self.anchor(p, t)
        if t < anchor:
            return None
        offset = t - anchor
        s = p.schedule
        if s.duration is not None and offset >= s.duration:
            return None
        starts = [q.start_period for q in s.periods]
        period = s.periods[bisect.bisect_right(starts, offset) - 1]
        phases = period.number_phases or self.phases
        amps = _to_amps(period.limit, s.charging_rate_unit, self.voltage, phases)
        if p.purpose == CHARGE_POINT_MAX:
            amps *= self.station_share
        return _Limit(amps, period.number_phases, p)

    def boundaries(self, p: ChargingProfile, a: float, b: float) -> Iterator[float]:
        """The times in (a, b) at which the limit of profile p may change."""
        times: list[float | None] = [p.valid_from, p.valid_to]
        for anchor in self.anchors(p, a, b):
            times.extend(anchor + q.start_period for q in p.schedule.periods)
            if p.schedule.duration is not None:
                times.append(anchor + p.schedule.duration)
        # outside its validity window nothing about the profile changes the limit
        lo = p.valid_from if p.valid_from is not None else a
        hi = p.valid_to if p.valid_to is not None else b
        return (x for x in times if x is not None and a < x < b and lo <= x <= hi)


def _prevailing(profiles: Iterable[ChargingProfile], t: float, ctx: _Context) -> _Limit | None:
    """The limit of the highest stack level in force at t."""
    best: _Limit | None = None
    best_level = -1
    for p in profiles:
        if p.stack_level <= best_level:
            continue
        found = ctx.limit(p, t)
        if found is not None:
            best, best_level = found, p.stack_level
    return best


class _Groups(NamedTuple):
    """The profiles that may apply to one connector, by role."""

    station_max: list[ChargingProfile]  # ChargePointMaxProfile (connector 0)
    tx: list[ChargingProfile]  # TxProfile of the connector (while a transaction runs)
    tx_default: list[ChargingProfile]  # TxDefaultProfile of the connector
    station_default: list[ChargingProfile]  # TxDefaultProfile on connector 0


class ChargingProfiles:
    """The installed profiles (persisted in the store) and the composite schedule."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], float] = time.time,
        *,
        max_profiles: int | None = None,
        max_stack_level: int | None = None,
        max_periods: int | None = None,
    ) -> None:
        """The max_* limits are the OCPP keys MaxChargingProfilesInstalled,
        ChargeProfileMaxStackLevel and ChargingScheduleMaxPeriods (None: no limit)."""
        self._store = store
        self._clock = clock
        self._max_profiles = max_profiles
        self._max_stack_level = max_stack_level
        self._max_periods = max_periods
        self._profiles: dict[int, ChargingProfile] = {}
        self._lock = asyncio.Lock()  # installs and clears are read-modify-write

    # -- installed profiles ---------------------------------------------------------------

    @property
    def profiles(self) -> list[ChargingProfile]:
        """The installed profiles, by id."""
        return [self._profiles[k] for k in sorted(self._profiles)]

    async def load(self) -> None:
        await self._store.migrate("profiles", _MIGRATIONS)

        def _read(conn: sqlite3.Connection) -> list[tuple[int, str]]:
            return list(conn.execute("SELECT id, data FROM charging_profiles ORDER BY id"))

        loaded: dict[int, ChargingProfile] = {}
        for pid, data in await self._store.call(_read):
            try:
                loaded[pid] = profile_from_json(data)
            except (TypeError, ValueError, KeyError) as e:  # a row we cannot read is skipped
                log.error("profiles.unreadable", id=pid, error=str(e))
        self._profiles = loaded
        log.info("profiles.loaded", count=len(loaded))

    async def install(
        self,
        profile: ChargingProfile,
        open_transactions: dict[int, tuple[int, float]],
        *,
        replace_same_level: bool = True,
    ) -> None:
        """SetChargingProfile. Raises ProfileError (and changes nothing) if it is invalid.

        open_transactions: connector_id -> (local transaction id, transaction start epoch).
        A profile with the same id, or (1.6, `replace_same_level`) with the same stack
        level, purpose and connector, is replaced. OCPP 2.0.1 keeps same-level profiles
        whose validity periods do not overlap (its adapter refuses those that do).
        """
        async with self._lock:
            new = validate(profile, open_transactions, self._clock())
            self._check_capacity(new)
            replaced = [
                old.id
                for old in self._profiles.values()
                if old.id == new.id
                or (
                    replace_same_level
                    and old.stack_level == new.stack_level
                    and old.purpose == new.purpose
                    and old.connector_id == new.connector_id
                )
            ]
            if self._max_profiles is not None and (
                len(self._profiles) - len(replaced) + 1 > self._max_profiles
            ):
                raise ProfileError(
                    f"charging profile {new.id}: {self._max_profiles} profiles are installed "
                    "already (MaxChargingProfilesInstalled)"
                )
            data = profile_to_json(new)

            def _write(conn: sqlite3.Connection) -> None:
                with atomic(conn):
                    conn.executemany(
                        "DELETE FROM charging_profiles WHERE id = ?", [(i,) for i in replaced]
                    )
                    conn.execute(
                        "INSERT INTO charging_profiles(id, connector_id, purpose, stack_level, "
                        "data) VALUES (?, ?, ?, ?, ?)",
                        (new.id, new.connector_id, new.purpose, new.stack_level, data),
                    )

            await self._store.call(_write)
            for i in replaced:
                del self._profiles[i]
            self._profiles[new.id] = new
        log.info(
            "profiles.installed",
            id=new.id,
            connector=new.connector_id,
            purpose=new.purpose,
            stack_level=new.stack_level,
            replaced=[i for i in replaced if i != new.id],
        )

    def _check_capacity(self, p: ChargingProfile) -> None:
        where = f"charging profile {p.id}"
        if self._max_stack_level is not None and p.stack_level > self._max_stack_level:
            raise ProfileError(
                f"{where}: stackLevel {p.stack_level} is above {self._max_stack_level} "
                "(ChargeProfileMaxStackLevel)"
            )
        if self._max_periods is not None and len(p.schedule.periods) > self._max_periods:
            raise ProfileError(
                f"{where}: {len(p.schedule.periods)} periods, at most {self._max_periods} "
                "(ChargingScheduleMaxPeriods)"
            )

    async def clear(
        self,
        id: int | None = None,
        connector_id: int | None = None,
        purpose: str | None = None,
        stack_level: int | None = None,
    ) -> bool:
        """ClearChargingProfile: True if a profile was removed (Accepted), else False (Unknown).

        With an id, only that profile is cleared and the other criteria are ignored (as
        OCPP 2.0.1 makes explicit); otherwise every given criterion must match, and no
        criterion at all clears every profile.
        """
        if purpose is not None and purpose not in PURPOSES:
            raise ProfileError(f"purpose {purpose!r} is not one of {PURPOSES}")

        def matches(p: ChargingProfile) -> bool:
            if id is not None:
                return p.id == id
            return (
                (connector_id is None or p.connector_id == connector_id)
                and (purpose is None or p.purpose == purpose)
                and (stack_level is None or p.stack_level == stack_level)
            )

        return await self._remove(matches, "profiles.cleared")

    async def transaction_ended(self, connector_id: int, transaction_id: int) -> None:
        """Drop the TxProfiles of a transaction that has ended."""
        await self._remove(
            lambda p: (
                p.purpose == TX
                and p.connector_id == connector_id
                and p.transaction_id in (None, transaction_id)
            ),
            "profiles.tx_dropped",
        )

    async def retain_transactions(self, open_transaction_ids: Iterable[int]) -> None:
        """Drop TxProfiles whose transaction is no longer open (e.g. closed while we were down)."""
        keep = set(open_transaction_ids)
        await self._remove(
            lambda p: p.purpose == TX and p.transaction_id not in keep, "profiles.tx_dropped"
        )

    async def _remove(self, matches: Callable[[ChargingProfile], bool], event: str) -> bool:
        async with self._lock:
            ids = [p.id for p in self._profiles.values() if matches(p)]
            if not ids:
                return False

            def _delete(conn: sqlite3.Connection) -> None:
                with atomic(conn):
                    conn.executemany(
                        "DELETE FROM charging_profiles WHERE id = ?", [(i,) for i in ids]
                    )

            await self._store.call(_delete)
            for i in ids:
                del self._profiles[i]
        log.info(event, ids=ids)
        return True

    # -- composite schedule ---------------------------------------------------------------

    def _candidates(self, connector_id: int, ctx: _Context) -> _Groups:
        by: dict[tuple[str, int], list[ChargingProfile]] = {}
        for p in self._profiles.values():
            by.setdefault((p.purpose, p.connector_id), []).append(p)
        station_max = by.get((CHARGE_POINT_MAX, 0), [])
        if connector_id == 0:  # the station as a whole: only its maximum applies
            return _Groups(station_max, [], [], [])
        return _Groups(
            station_max,
            by.get((TX, connector_id), []) if ctx.tx_start is not None else [],
            by.get((TX_DEFAULT, connector_id), []),
            by.get((TX_DEFAULT, 0), []),
        )

    @staticmethod
    def _limit_at(groups: _Groups, t: float, ctx: _Context) -> tuple[_Limit | None, _Limit | None]:
        """(the composite limit at t, the Tx/TxDefault limit that took part) in amps."""
        charge = (
            _prevailing(groups.tx, t, ctx)
            or _prevailing(groups.tx_default, t, ctx)
            or _prevailing(groups.station_default, t, ctx)
        )
        cap = _prevailing(groups.station_max, t, ctx)
        found = [x for x in (charge, cap) if x is not None]
        if not found:
            return None, None
        return min(found, key=lambda x: x.amps), charge

    def limit_amps(
        self,
        connector_id: int,
        now: float,
        tx_start: float | None,
        voltage: float,
        phases: int,
        *,
        station_share: float = 1.0,
    ) -> float | None:
        """The composite limit now in amps per phase, None when no profile applies.

        station_share: the part of the ChargePointMaxProfile this connector may use (a
        station with two charging connectors gives each half).
        """
        ctx = _Context(tx_start, now, voltage, phases, station_share)
        found, _ = self._limit_at(self._candidates(connector_id, ctx), now, ctx)
        return None if found is None else _floor_tenth(found.amps)

    def next_change(self, connector_id: int, now: float, tx_start: float | None) -> float | None:
        """The next time after `now` at which the limit of the connector may change."""
        ctx = _Context(tx_start, now, 230.0, 3, 1.0)
        horizon = now + 8 * 86_400  # a Weekly recurrence changes within a week
        times = [
            t
            for group in self._candidates(connector_id, ctx)
            for p in group
            # a Relative profile without a transaction starts over at every evaluation
            if not (p.kind == RELATIVE and tx_start is None)
            for t in ctx.boundaries(p, now, horizon)
        ]
        return min(times, default=None)

    def composite(
        self,
        connector_id: int,
        start: float,
        duration: int,
        unit: str,
        tx_start: float | None,
        voltage: float,
        phases: int,
        *,
        default_limit: float | None = None,
        station_share: float = 1.0,
    ) -> ChargingSchedule:
        """GetCompositeSchedule: the limit over [start, start + duration) in `unit`.

        Periods are relative to `start` (start_schedule = start) and merged where equal.
        Where no profile applies, the period has `default_limit` (amps per phase: pass the
        charger's own maximum); without one, the schedule covers only the first stretch of
        time in which a profile applies (its first period may start after 0 and its
        duration may be shorter than asked). No profile at all: no periods, duration 0.
        """
        if unit not in UNITS:
            raise ProfileError(f"chargingRateUnit {unit!r} is not one of {UNITS}")
        if not (_is_int(duration) and duration >= 0):
            raise ProfileError(f"duration {duration!r} must be a number of seconds >= 0")
        ctx = _Context(tx_start, start, voltage, phases, station_share)
        groups = self._candidates(connector_id, ctx)
        end = start + duration
        offsets = {0} | {
            math.ceil(t - start)
            for group in groups
            for p in group
            for t in ctx.boundaries(p, start, end)
        }
        periods: list[SchedulePeriod] = []
        min_rate: float | None = None
        covered_until: int | None = None  # end of the first covered stretch, when cut short
        for offset in sorted(o for o in offsets if o < duration):
            found, charge = self._limit_at(groups, start + offset, ctx)
            if found is None:
                if default_limit is None:
                    if periods:  # the first covered stretch ends here
                        covered_until = offset
                        break
                    continue
                found = _Limit(default_limit, None, None)
            n = found.number_phases or phases
            limit = _floor_tenth(_from_amps(found.amps, unit, voltage, n))
            if not periods or (periods[-1].limit, periods[-1].number_phases) != (
                limit,
                found.number_phases,
            ):
                periods.append(SchedulePeriod(offset, limit, found.number_phases))
            rate = _min_rate(charge, unit, ctx)
            if rate is not None:
                min_rate = rate if min_rate is None else max(min_rate, rate)
        if not periods:
            return ChargingSchedule(unit, (), duration=0, start_schedule=start)
        return ChargingSchedule(
            unit,
            tuple(periods),
            duration=duration if covered_until is None else covered_until,
            start_schedule=start,
            min_charging_rate=min_rate,
        )


def _min_rate(charge: _Limit | None, unit: str, ctx: _Context) -> float | None:
    """The minChargingRate of the Tx/TxDefault profile in force, in `unit`."""
    if charge is None or charge.profile is None:
        return None
    s = charge.profile.schedule
    if s.min_charging_rate is None:
        return None
    n = charge.number_phases or ctx.phases
    amps = _to_amps(s.min_charging_rate, s.charging_rate_unit, ctx.voltage, n)
    return _floor_tenth(_from_amps(amps, unit, ctx.voltage, n))
