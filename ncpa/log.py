"""Structured logs: `log.info("contactor.closed", connector=1)` -> one line with fields.

Text format for a terminal (`event key=value ...`), JSON lines for journald/collectors.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

_FIELDS = "ncpa_fields"


class StructLogger:
    def __init__(self, name: str) -> None:
        self._log = logging.getLogger(name)

    def _emit(self, level: int, event: str, fields: dict[str, Any]) -> None:
        if self._log.isEnabledFor(level):
            self._log.log(level, event, extra={_FIELDS: fields}, stacklevel=3)

    def debug(self, event: str, **fields: Any) -> None:
        self._emit(logging.DEBUG, event, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._emit(logging.INFO, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._emit(logging.WARNING, event, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._emit(logging.ERROR, event, fields)

    def exception(self, event: str, **fields: Any) -> None:
        self._log.exception(event, extra={_FIELDS: fields}, stacklevel=2)


def get_logger(name: str) -> StructLogger:
    return StructLogger(name)


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The key=value fields a StructLogger attached to a record ({} for other loggers)."""
    fields: dict[str, Any] = getattr(record, _FIELDS, {})
    return fields


def _fmt_value(v: Any) -> str:
    s = v if isinstance(v, str) else json.dumps(v, default=str)
    return json.dumps(s) if (" " in s or "=" in s or not s) else s


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%H:%M:%S", time.localtime(record.created))
        fields: dict[str, Any] = getattr(record, _FIELDS, {})
        kv = " ".join(f"{k}={_fmt_value(v)}" for k, v in fields.items())
        line = f"{ts}.{int(record.msecs):03d} {record.levelname:<7} {record.name}: "
        line += record.getMessage() + (f" {kv}" if kv else "")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        out.update(getattr(record, _FIELDS, {}))
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure(fmt: str = "text", level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # libraries are chatty at INFO
    # the ocpp library logs every message (with idTags) at INFO
    for noisy in ("websockets", "aiohttp.access", "pymodbus", "ocpp"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
