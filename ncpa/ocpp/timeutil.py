"""OCPP timestamps: strict when we write them, lenient when the CSMS writes them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

# Some CSMSs send "2024-01-01T10:00:00.123456" (no zone) or a 7-digit .NET fraction.
_FRACTION = re.compile(r"(\.\d{1,6})\d*")


def fmt_time(ts: float) -> str:
    """Epoch seconds -> '2024-01-01T10:00:00.123Z' (UTC, milliseconds)."""
    dt = datetime.fromtimestamp(ts, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_time(text: str) -> float:
    """A CSMS timestamp -> epoch seconds. No zone means UTC; any fraction is accepted.

    Raises ValueError with the offending text when it is not a date-time at all.
    """
    s = text.strip()
    if not s:
        raise ValueError("empty timestamp")
    if s[-1] in "zZ":
        s = s[:-1] + "+00:00"
    s = _FRACTION.sub(lambda m: m.group(1), s, count=1)
    try:
        dt = datetime.fromisoformat(s)
    except ValueError as e:
        raise ValueError(f"not an ISO 8601 timestamp: {text!r}") from e
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def parse_time_or_none(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return parse_time(text)
    except ValueError:
        return None
