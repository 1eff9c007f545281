"""The last log lines in memory, for the web page's diagnostics (GET /diagnostics/logs).

A logging handler on the root logger that keeps a bounded deque of records as small
dicts; it never blocks and never grows past `capacity` lines.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

from ncpa.log import fields_of

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class LogRing(logging.Handler):
    def __init__(self, capacity: int = 1000) -> None:
        super().__init__(logging.DEBUG)
        self.lines: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._seq = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._seq += 1
            self.lines.append(
                {
                    "seq": self._seq,
                    "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                    + f".{int(record.msecs):03d}Z",
                    "level": record.levelname,
                    "logger": record.name,
                    "event": record.getMessage(),
                    "fields": {k: _plain(v) for k, v in fields_of(record).items()},
                }
            )
        except Exception:  # a log line must never break the code that logs it
            self.handleError(record)

    def recent(
        self, limit: int, level: str = "DEBUG", contains: str | None = None
    ) -> list[dict[str, Any]]:
        """Newest last; at most `limit` lines at `level` or above, containing `contains`."""
        floor = logging.getLevelName(level)
        needle = contains.lower() if contains else None
        out: list[dict[str, Any]] = []
        for line in reversed(self.lines):
            if logging.getLevelName(line["level"]) < floor:
                continue
            if needle is not None and needle not in _text(line).lower():
                continue
            out.append(line)
            if len(out) >= limit:
                break
        out.reverse()
        return out

    def install(self) -> None:
        logging.getLogger().addHandler(self)

    def remove(self) -> None:
        logging.getLogger().removeHandler(self)


def _plain(v: Any) -> Any:
    return v if isinstance(v, str | int | float | bool) or v is None else str(v)


def _text(line: dict[str, Any]) -> str:
    kv = " ".join(f"{k}={v}" for k, v in line["fields"].items())
    return f"{line['logger']} {line['event']} {kv}"
