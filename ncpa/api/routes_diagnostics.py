"""Diagnostics for the installer: the event journal, the recent log lines, the OCPP frame
trace switch, and the hardware check (the checks of `ncpa hw-check`, run live).

GET /diagnostics/journal?limit=&kind=&connector=     newest first, from SQLite
GET /diagnostics/logs?limit=&level=&contains=        newest last, from memory
GET /diagnostics/ocpp-trace?limit=  PUT {"enabled"}  the frame trace (installer)
POST /diagnostics/hw-check                           one check at a time (409 otherwise)
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

from aiohttp import web

from ncpa.api.errors import ApiError, bad_param
from ncpa.api.frame_trace_control import FrameTraceControl, MemoryFrameTrace
from ncpa.api.log_ring import LEVELS
from ncpa.api.page_services import page
from ncpa.api.params import json_body, query_enum, query_int, query_str
from ncpa.api.routes import Route, ok, state
from ncpa.hwcheck_live import live_check

__all__ = ["ROUTES", "FrameTraceControl", "MemoryFrameTrace"]

KIND_RE = re.compile(r"^[A-Za-z]{1,64}$")


async def get_journal(request: web.Request) -> web.Response:
    limit = query_int(request, "limit", 1, 1000, default=100)
    kind = query_str(request, "kind", required=False, max_len=64)
    if kind is not None and not KIND_RE.match(kind):
        raise bad_param("kind", "an event kind: letters only (e.g. StatusChanged)")
    connector = None
    if request.query.get("connector") is not None:
        connector = query_int(request, "connector", 0, 64)
    store = state(request).station.store

    def _list(conn: sqlite3.Connection) -> list[dict[str, Any]]:
        where: list[str] = []
        args: list[str | int] = []
        if kind is not None:
            where.append("kind = ?")
            args.append(kind)
        if connector is not None:
            where.append("connector = ?")
            args.append(connector)
        sql = "SELECT ts, kind, connector, data FROM journal"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = conn.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit))
        return [
            {"time": round(ts, 3), "kind": k, "connectorId": c, "data": json.loads(d)}
            for ts, k, c, d in rows
        ]

    return ok(await store.call(_list))


async def get_logs(request: web.Request) -> web.Response:
    limit = query_int(request, "limit", 1, 1000, default=200)
    level = (
        query_enum(request, "level", LEVELS) if request.query.get("level") is not None else "DEBUG"
    )
    contains = query_str(request, "contains", required=False, max_len=128)
    return ok(page(request).logs.recent(limit, level, contains))


def _trace_json(trace: FrameTraceControl, limit: int) -> dict[str, Any]:
    return {"enabled": bool(trace.enabled), "frames": trace.recent(limit)}


async def get_trace(request: web.Request) -> web.Response:
    limit = query_int(request, "limit", 1, 500, default=100)
    return ok(_trace_json(page(request).trace, limit))


async def put_trace(request: web.Request) -> web.Response:
    body = await json_body(request, "body", max_bytes=1024)
    enabled = body.get("enabled") if isinstance(body, dict) else None
    if not isinstance(enabled, bool) or set(body) != {"enabled"}:
        raise bad_param("enabled", 'expected {"enabled": true | false}')
    trace = page(request).trace
    await trace.set_enabled(enabled)
    return ok(_trace_json(trace, 100))


async def post_hw_check(request: web.Request) -> web.Response:
    lock = page(request).hwcheck_lock
    if lock.locked():
        raise ApiError(409, "a hardware check is already running")
    async with lock:
        return ok(await live_check(state(request).station))


ROUTES = [
    Route("GET", "/diagnostics/journal", get_journal, "installer"),
    Route("GET", "/diagnostics/logs", get_logs, "installer"),
    Route("GET", "/diagnostics/ocpp-trace", get_trace, "installer"),
    Route("PUT", "/diagnostics/ocpp-trace", put_trace, "installer"),
    Route("POST", "/diagnostics/hw-check", post_hw_check, "installer"),
]
