"""Local schedules: parsing and evaluation with explicit datetimes (no sleeping)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from ncpa.energy.local_schedule import (
    ScheduleError,
    limit_at,
    next_change,
    parse_schedule,
)

BRUSSELS = ZoneInfo("Europe/Brussels")
H = 3600


def local(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=BRUSSELS, fold=fold)  # type: ignore[misc]


def test_daily_sections_and_wrap_around() -> None:
    s = parse_schedule(
        {
            "recurring": "daily",
            "sections": [{"time": 22 * H, "limit": 32}, {"time": 7 * H, "limit": 6}],
        }
    )
    assert [x.time for x in s.sections] == [7 * H, 22 * H]  # sorted
    assert limit_at(s, local(2026, 3, 10, 6, 59), BRUSSELS) == 32  # wraps from yesterday 22:00
    assert limit_at(s, local(2026, 3, 10, 7, 0), BRUSSELS) == 6
    assert limit_at(s, local(2026, 3, 10, 21, 59), BRUSSELS) == 6
    assert limit_at(s, local(2026, 3, 10, 22, 0), BRUSSELS) == 32


def test_weekly_starts_monday_local() -> None:
    s = parse_schedule(
        {
            "recurring": "weekly",
            "sections": [{"time": 0, "limit": 10}, {"time": 5 * 86400, "limit": 32}],  # Sat 00:00
        }
    )
    assert limit_at(s, local(2026, 3, 23, 0, 0), BRUSSELS) == 10  # Monday
    assert limit_at(s, local(2026, 3, 27, 23, 59), BRUSSELS) == 10  # Friday night
    assert limit_at(s, local(2026, 3, 28, 0, 0), BRUSSELS) == 32  # Saturday
    assert limit_at(s, local(2026, 3, 29, 23, 59), BRUSSELS) == 32  # Sunday


def test_weekly_across_spring_dst_change() -> None:
    # Sunday 29 March 2026: 02:00 CET -> 03:00 CEST in Brussels
    sun = 6 * 86400
    s = parse_schedule(
        {
            "recurring": "weekly",
            "sections": [
                {"time": sun + 1 * H, "limit": 8},
                {"time": sun + 2 * H + 1800, "limit": 12},  # 02:30 does not exist that day
                {"time": sun + 7 * H, "limit": 16},
            ],
        }
    )
    assert limit_at(s, datetime(2026, 3, 28, 23, 59, tzinfo=UTC), BRUSSELS) == 16  # 00:59 CET
    assert limit_at(s, datetime(2026, 3, 29, 0, 59, tzinfo=UTC), BRUSSELS) == 8  # 01:59 CET
    # one second later (UTC) the clock jumps to 03:00 CEST: the 02:30 section holds
    assert limit_at(s, datetime(2026, 3, 29, 1, 0, 1, tzinfo=UTC), BRUSSELS) == 12
    # 07:00 local is 05:00 UTC after the change (06:00 UTC before it)
    assert limit_at(s, datetime(2026, 3, 29, 4, 59, tzinfo=UTC), BRUSSELS) == 12
    assert limit_at(s, datetime(2026, 3, 29, 5, 0, tzinfo=UTC), BRUSSELS) == 16
    # the wake-up for the 07:00 section is at 05:00 UTC
    nxt = next_change(s, datetime(2026, 3, 29, 3, 0, tzinfo=UTC), BRUSSELS)
    assert nxt is not None and nxt.astimezone(UTC) == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)


def test_weekly_across_autumn_dst_change_does_not_fire_twice() -> None:
    # Sunday 25 October 2026: 03:00 CEST -> 02:00 CET, 02:00-03:00 happens twice
    sun = 6 * 86400
    s = parse_schedule(
        {
            "recurring": "weekly",
            "sections": [
                {"time": sun + 2 * H, "limit": 10},
                {"time": sun + 2 * H + 1800, "limit": 20},
                {"time": sun + 8 * H, "limit": 32},
            ],
        }
    )
    assert limit_at(s, local(2026, 10, 25, 2, 15), BRUSSELS) == 10  # first pass
    assert limit_at(s, local(2026, 10, 25, 2, 45), BRUSSELS) == 20
    # second pass of 02:15: still 20, the 02:00 section does not fire again
    assert limit_at(s, local(2026, 10, 25, 2, 15, fold=1), BRUSSELS) == 20
    assert limit_at(s, local(2026, 10, 25, 3, 30), BRUSSELS) == 20
    # 08:00 local is 07:00 UTC after the change
    assert limit_at(s, datetime(2026, 10, 25, 6, 59, tzinfo=UTC), BRUSSELS) == 20
    assert limit_at(s, datetime(2026, 10, 25, 7, 0, tzinfo=UTC), BRUSSELS) == 32


def test_one_off_counts_from_its_start() -> None:
    s = parse_schedule(
        {"recurring": "none", "sections": [{"time": 600, "limit": 0}, {"time": 3600, "limit": 16}]},
        now=1_000_000.0,
    )
    assert s.start == 1_000_000.0
    at = lambda t: datetime.fromtimestamp(t, UTC)  # noqa: E731
    assert limit_at(s, at(1_000_000.0 + 599), BRUSSELS) is None
    assert limit_at(s, at(1_000_000.0 + 600), BRUSSELS) == 0
    assert limit_at(s, at(1_000_000.0 + 99_999), BRUSSELS) == 16
    assert s.to_json()["start"] == 1_000_000
    # a stored one keeps its start
    assert parse_schedule(s.to_json(), now=5.0).start == 1_000_000.0


def test_empty_schedule_sets_no_limit() -> None:
    s = parse_schedule({"recurring": "daily", "sections": []})
    assert limit_at(s, local(2026, 1, 1, 12, 0), BRUSSELS) is None


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ([], "must be an object"),
        ({"recurring": "monthly", "sections": []}, "recurring"),
        ({"recurring": "daily"}, "sections"),
        ({"recurring": "daily", "sections": [{"time": 86400, "limit": 6}]}, r"sections\[0\].time"),
        ({"recurring": "daily", "sections": [{"time": -1, "limit": 6}]}, r"sections\[0\].time"),
        ({"recurring": "weekly", "sections": [{"time": 0, "limit": -2}]}, r"sections\[0\].limit"),
        ({"recurring": "daily", "sections": [{"time": "8:00", "limit": 6}]}, "not a number"),
        ({"recurring": "daily", "sections": [{"time": 5, "limit": True}]}, "not a number"),
        (
            {"recurring": "daily", "sections": [{"time": 5, "limit": 6}, {"time": 5, "limit": 7}]},
            "two",
        ),
    ],
)
def test_bad_schedules_say_what_is_wrong(obj: object, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        parse_schedule(obj)
