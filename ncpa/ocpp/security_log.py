"""The persistent security log, and SecurityEventNotification (security whitepaper ed. 3).

Every security event is written to SQLite first; it is sent to the CSMS when
connected, and the ones not yet delivered are sent after the next boot, so none
is lost offline. GetLog (SecurityLog) reads the same table.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ncpa.log import get_logger
from ncpa.ocpp.timeutil import fmt_time
from ncpa.store import Store

log = get_logger(__name__)

# whitepaper section 5.3: the events a charge point reports
CRITICAL = frozenset(
    {
        "FirmwareUpdated",
        "FailedToAuthenticateAtCentralSystem",
        "CentralSystemFailedToAuthenticate",
        "SettingSystemTime",
        "StartupOfTheDevice",
        "ResetOrReboot",
        "SecurityLogWasCleared",
        "ReconfigurationOfSecurityParameters",
        "MemoryExhaustion",
        "InvalidMessages",
        "AttemptedReplayAttacks",
        "TamperDetectionActivated",
        "InvalidFirmwareSignature",
        "InvalidFirmwareSigningCertificate",
        "InvalidCentralSystemCertificate",
        "InvalidChargePointCertificate",
        "InvalidTLSVersion",
        "InvalidTLSCipherSuite",
    }
)
MAX_ROWS = 10_000
MAX_ATTEMPTS = 3  # connections on which an event is offered before it is only kept in the log

# (type, timestamp, tech_info) -> delivered; None: not connected (not an attempt)
Sender = Callable[[str, str, str], Awaitable[bool | None]]


class SecurityLog:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.sender: Sender | None = None

    async def open(self) -> None:
        await self.store.migrate(
            "ocpp-security-log",
            [
                "CREATE TABLE ocpp_security_log (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                "ts REAL NOT NULL, type TEXT NOT NULL, tech_info TEXT NOT NULL, "
                "sent INTEGER NOT NULL DEFAULT 0);",
                "ALTER TABLE ocpp_security_log ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;",
            ],
        )

    async def event(self, kind: str, tech_info: str = "") -> None:
        """Record a security event (and send it if connected)."""
        ts = time.time()
        info = tech_info[:255]

        def _add(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "INSERT INTO ocpp_security_log(ts, type, tech_info) VALUES (?, ?, ?)",
                (ts, kind, info),
            )
            conn.execute(
                "DELETE FROM ocpp_security_log WHERE id <= ?", ((cur.lastrowid or 0) - MAX_ROWS,)
            )
            return cur.lastrowid or 0

        row = await self.store.call(_add)
        log.warning("security.event", type=kind, info=info)
        if kind in CRITICAL:
            await self._send([(row, ts, kind, info)])

    async def flush(self) -> None:
        """Send the critical events that were recorded while offline."""

        def _unsent(conn: sqlite3.Connection) -> list[tuple[int, float, str, str]]:
            return list(
                conn.execute(
                    "SELECT id, ts, type, tech_info FROM ocpp_security_log "
                    "WHERE sent = 0 AND attempts < ? ORDER BY id",
                    (MAX_ATTEMPTS,),
                )
            )

        rows = [r for r in await self.store.call(_unsent) if r[2] in CRITICAL]
        await self._send(rows)

    async def _send(self, rows: list[tuple[int, float, str, str]]) -> None:
        if self.sender is None:
            return
        for row_id, ts, kind, info in rows:
            sent = await self.sender(kind, fmt_time(ts), info)
            if sent is None:
                return  # offline: the rest waits for the next connection

            def _mark(conn: sqlite3.Connection, rid: int = row_id, ok: bool = sent) -> None:
                # a CSMS that never answers (or rejects) this message must not get it forever
                column = "sent = 1" if ok else "attempts = attempts + 1"
                conn.execute(f"UPDATE ocpp_security_log SET {column} WHERE id = ?", (rid,))

            await self.store.call(_mark)
            if not sent:
                return  # offline again, or the CSMS is not listening: try at the next boot

    async def entries(
        self, since: float | None = None, until: float | None = None
    ) -> list[dict[str, Any]]:
        def _list(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                "SELECT ts, type, tech_info FROM ocpp_security_log WHERE ts >= ? AND ts <= ? "
                "ORDER BY id",
                (since or 0, until or 1e12),
            )
            return [{"ts": ts, "type": t, "tech_info": i} for ts, t, i in rows]

        return await self.store.call(_list)
