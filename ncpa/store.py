"""SQLite storage in the data directory: settings, whitelist, transactions, event journal.

One connection, used from one worker thread, so that SQLite never blocks the
event loop and writes are serialised. WAL with synchronous=FULL: a commit is
on disk when `await` returns, which is what "durable before acted on" needs.

Other components keep their own tables: they call `migrate(component, steps)`
with their own list of SQL scripts, versioned per component.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ncpa.config import ConfigError, os_reason

T = TypeVar("T")

DB_NAME = "ncpa.sqlite3"

_CORE_MIGRATIONS: list[str] = [
    """
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE whitelist (
        token         TEXT PRIMARY KEY,
        status        TEXT NOT NULL,
        expiry_ts     INTEGER,
        parent_id_tag TEXT,
        added_ts      INTEGER NOT NULL
    );
    CREATE TABLE transactions (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        connector_id   INTEGER NOT NULL,
        id_tag         TEXT NOT NULL,
        start_ts       REAL NOT NULL,
        meter_start_wh REAL NOT NULL,
        last_meter_wh  REAL NOT NULL,
        last_meter_ts  REAL NOT NULL,
        stop_ts        REAL,
        meter_stop_wh  REAL,
        stop_reason    TEXT,
        stop_id_tag    TEXT,
        remote_id      TEXT
    );
    CREATE INDEX transactions_open ON transactions(stop_ts) WHERE stop_ts IS NULL;
    CREATE TABLE journal (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        ts        REAL NOT NULL,
        kind      TEXT NOT NULL,
        connector INTEGER,
        data      TEXT NOT NULL
    );
    """,
]


@dataclass(frozen=True, slots=True)
class TransactionRecord:
    id: int
    connector_id: int
    id_tag: str
    start_ts: float
    meter_start_wh: float
    last_meter_wh: float
    last_meter_ts: float
    stop_ts: float | None = None
    meter_stop_wh: float | None = None
    stop_reason: str | None = None
    stop_id_tag: str | None = None
    remote_id: str | None = None

    @property
    def is_open(self) -> bool:
        return self.stop_ts is None

    @property
    def consumed_wh(self) -> float:
        end = self.meter_stop_wh if self.meter_stop_wh is not None else self.last_meter_wh
        return max(0.0, end - self.meter_start_wh)


@dataclass(frozen=True, slots=True)
class WhitelistEntry:
    token: str
    status: str  # ACCEPTED | BLOCKED | EXPIRED | INVALID | UNKNOWN
    expiry_ts: int | None = None
    parent_id_tag: str | None = None


# transactions stamped while the wall clock was not trusted (ncpa/clock.py): 1
_CLOCK_MIGRATIONS: list[str] = [
    "ALTER TABLE transactions ADD COLUMN clock_untrusted INTEGER NOT NULL DEFAULT 0;",
]

_TX_COLUMNS = (
    "id, connector_id, id_tag, start_ts, meter_start_wh, last_meter_wh, last_meter_ts, "
    "stop_ts, meter_stop_wh, stop_reason, stop_id_tag, remote_id"
)


def _tx(row: sqlite3.Row | tuple[Any, ...]) -> TransactionRecord:
    return TransactionRecord(*row)


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._conn: sqlite3.Connection | None = None

    # -- plumbing -------------------------------------------------------------

    @classmethod
    async def open(cls, data_dir: Path) -> Store:
        store = cls(data_dir / DB_NAME)
        try:
            await store.call(lambda _c: data_dir.mkdir(parents=True, exist_ok=True))
            await store.call(store._connect)
        except (OSError, sqlite3.Error) as e:
            # a setting the user gave: one line naming it, not a traceback
            raise ConfigError(f"data_dir {data_dir}: cannot use it ({os_reason(e)})") from e
        await store.migrate("core", _CORE_MIGRATIONS)
        await store.migrate("transactions_clock", _CLOCK_MIGRATIONS)
        return store

    def _connect(self, _: Any = None) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_versions "
            "(component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )
        self._conn = conn

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(connection)` on the store's thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._run, fn)

    def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        # before _connect has run, fn gets None (only open() does that)
        return fn(self._conn)  # type: ignore[arg-type]

    async def close(self) -> None:
        def _close(conn: sqlite3.Connection) -> None:
            conn.close()
            self._conn = None

        if self._conn is not None:
            await self.call(_close)
        self._executor.shutdown(wait=True)

    async def migrate(self, component: str, steps: Sequence[str]) -> None:
        """Apply the SQL scripts of `component` that this database has not seen yet."""

        def _migrate(conn: sqlite3.Connection) -> None:
            row = conn.execute(
                "SELECT version FROM schema_versions WHERE component = ?", (component,)
            ).fetchone()
            done = row[0] if row else 0
            for version, script in enumerate(steps[done:], start=done + 1):
                # executescript commits first; the step and its version go in one transaction,
                # and a step that fails leaves nothing behind (not even an open BEGIN)
                try:
                    conn.executescript(
                        "BEGIN;\n"
                        + script
                        + "\nINSERT INTO schema_versions(component, version) VALUES "
                        + f"('{component}', {version}) ON CONFLICT(component) "
                        + f"DO UPDATE SET version = {version};\nCOMMIT;"
                    )
                except Exception:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise

        await self.call(_migrate)

    # -- settings -------------------------------------------------------------

    async def get_setting(self, key: str, default: Any = None) -> Any:
        def _get(conn: sqlite3.Connection) -> Any:
            row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
            return json.loads(row[0]) if row else default

        return await self.call(_get)

    async def all_settings(self) -> dict[str, Any]:
        def _all(conn: sqlite3.Connection) -> dict[str, Any]:
            return {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM settings")}

        return await self.call(_all)

    async def set_setting(self, key: str, value: Any) -> None:
        data = json.dumps(value)

        def _set(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, data),
            )

        await self.call(_set)

    # -- whitelist ------------------------------------------------------------

    async def whitelist(self) -> list[WhitelistEntry]:
        def _all(conn: sqlite3.Connection) -> list[WhitelistEntry]:
            rows = conn.execute(
                "SELECT token, status, expiry_ts, parent_id_tag FROM whitelist ORDER BY added_ts"
            )
            return [WhitelistEntry(*r) for r in rows]

        return await self.call(_all)

    async def put_card(self, entry: WhitelistEntry) -> None:
        def _put(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO whitelist(token, status, expiry_ts, parent_id_tag, added_ts) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(token) DO UPDATE SET "
                "status = excluded.status, expiry_ts = excluded.expiry_ts, "
                "parent_id_tag = excluded.parent_id_tag",
                (entry.token, entry.status, entry.expiry_ts, entry.parent_id_tag, int(time.time())),
            )

        await self.call(_put)

    async def delete_card(self, token: str) -> bool:
        def _del(conn: sqlite3.Connection) -> bool:
            return conn.execute("DELETE FROM whitelist WHERE token = ?", (token,)).rowcount > 0

        return await self.call(_del)

    async def replace_whitelist(self, entries: Sequence[WhitelistEntry]) -> None:
        """Swap the whole list in one transaction (SendLocalList Full)."""

        def _replace(conn: sqlite3.Connection) -> None:
            now = int(time.time())
            with atomic(conn):
                conn.execute("DELETE FROM whitelist")
                conn.executemany(
                    "INSERT INTO whitelist(token, status, expiry_ts, parent_id_tag, added_ts) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [(e.token, e.status, e.expiry_ts, e.parent_id_tag, now) for e in entries],
                )

        await self.call(_replace)

    # -- transactions ---------------------------------------------------------

    async def open_transaction(
        self,
        connector_id: int,
        id_tag: str,
        meter_start_wh: float,
        start_ts: float,
        clock_trusted: bool = True,
    ) -> TransactionRecord:
        def _open(conn: sqlite3.Connection) -> TransactionRecord:
            cur = conn.execute(
                "INSERT INTO transactions(connector_id, id_tag, start_ts, meter_start_wh, "
                "last_meter_wh, last_meter_ts, clock_untrusted) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (connector_id, id_tag, start_ts, meter_start_wh, meter_start_wh, start_ts,
                 int(not clock_trusted)),
            )  # fmt: skip
            tx_id = cur.lastrowid
            assert tx_id is not None
            return TransactionRecord(
                tx_id, connector_id, id_tag, start_ts, meter_start_wh, meter_start_wh, start_ts
            )

        return await self.call(_open)

    async def record_meter(self, tx_id: int, energy_wh: float, ts: float) -> None:
        def _rec(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE transactions SET last_meter_wh = ?, last_meter_ts = ? "
                "WHERE id = ? AND stop_ts IS NULL",
                (energy_wh, ts, tx_id),
            )

        await self.call(_rec)

    async def close_transaction(
        self,
        tx_id: int,
        meter_stop_wh: float,
        stop_ts: float,
        reason: str,
        stop_id_tag: str | None = None,
        clock_trusted: bool = True,
    ) -> TransactionRecord:
        def _close(conn: sqlite3.Connection) -> TransactionRecord:
            conn.execute(
                "UPDATE transactions SET meter_stop_wh = ?, last_meter_wh = ?, stop_ts = ?, "
                "last_meter_ts = ?, stop_reason = ?, stop_id_tag = ?, "
                "clock_untrusted = MAX(clock_untrusted, ?) WHERE id = ? AND stop_ts IS NULL",
                (meter_stop_wh, meter_stop_wh, stop_ts, stop_ts, reason, stop_id_tag,
                 int(not clock_trusted), tx_id),
            )  # fmt: skip
            row = conn.execute(
                f"SELECT {_TX_COLUMNS} FROM transactions WHERE id = ?", (tx_id,)
            ).fetchone()
            return _tx(row)

        return await self.call(_close)

    async def note_stopping(self, tx_id: int, reason: str, stop_id_tag: str | None) -> None:
        """Why an open transaction is ending, on disk before its final meter read: a crash
        in between still closes it with this reason (recovery), not as PowerLoss."""

        def _note(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE transactions SET stop_reason = ?, stop_id_tag = ? "
                "WHERE id = ? AND stop_ts IS NULL",
                (reason, stop_id_tag, tx_id),
            )

        await self.call(_note)

    async def set_id_tag(self, tx_id: int, id_tag: str) -> None:
        """The id tag of an open transaction that began before its authorization."""

        def _set(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE transactions SET id_tag = ? WHERE id = ? AND stop_ts IS NULL",
                (id_tag, tx_id),
            )

        await self.call(_set)

    async def set_remote_id(self, tx_id: int, remote_id: str) -> None:
        def _set(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE transactions SET remote_id = ? WHERE id = ?", (remote_id, tx_id))

        await self.call(_set)

    async def transaction(self, tx_id: int) -> TransactionRecord | None:
        def _get(conn: sqlite3.Connection) -> TransactionRecord | None:
            row = conn.execute(
                f"SELECT {_TX_COLUMNS} FROM transactions WHERE id = ?", (tx_id,)
            ).fetchone()
            return _tx(row) if row else None

        return await self.call(_get)

    async def open_transactions(self) -> list[TransactionRecord]:
        def _open(conn: sqlite3.Connection) -> list[TransactionRecord]:
            rows = conn.execute(
                f"SELECT {_TX_COLUMNS} FROM transactions WHERE stop_ts IS NULL ORDER BY id"
            )
            return [_tx(r) for r in rows]

        return await self.call(_open)

    async def transactions(self, limit: int = 1000) -> list[TransactionRecord]:
        """Newest first."""

        def _list(conn: sqlite3.Connection) -> list[TransactionRecord]:
            rows = conn.execute(
                f"SELECT {_TX_COLUMNS} FROM transactions ORDER BY id DESC LIMIT ?", (limit,)
            )
            return [_tx(r) for r in rows]

        return await self.call(_list)

    # -- journal --------------------------------------------------------------

    async def journal(self, kind: str, connector: int | None, data: dict[str, Any]) -> None:
        payload = json.dumps(data, default=str)

        def _add(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO journal(ts, kind, connector, data) VALUES (?, ?, ?, ?)",
                (time.time(), kind, connector, payload),
            )

        await self.call(_add)

    async def journal_entries(self, limit: int = 100) -> list[dict[str, Any]]:
        def _list(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                "SELECT ts, kind, connector, data FROM journal ORDER BY id DESC LIMIT ?", (limit,)
            )
            return [
                {"ts": ts, "kind": kind, "connector": c, "data": json.loads(d)}
                for ts, kind, c, d in rows
            ]

        return await self.call(_list)


class atomic:
    """BEGIN/COMMIT around a block, ROLLBACK on error (the connection is in autocommit)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def read_untrusted_clock(data_dir: Path) -> set[int]:
    """Ids of the transactions stamped while the clock was not trusted (read-only)."""
    conn = sqlite3.connect(f"file:{data_dir / DB_NAME}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT id FROM transactions WHERE clock_untrusted = 1")
        return {int(r[0]) for r in rows}
    finally:
        conn.close()


def read_transactions(data_dir: Path, limit: int = 50) -> list[TransactionRecord]:
    """Read-only access for the CLI while the daemon runs (WAL allows a concurrent reader)."""
    path = data_dir / DB_NAME
    if not path.is_file():
        raise ConfigError(f"data_dir {data_dir}: no database there ({DB_NAME} not found)")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise ConfigError(f"data_dir {data_dir}: cannot open {DB_NAME} ({e})") from e
    try:
        rows = conn.execute(
            f"SELECT {_TX_COLUMNS} FROM transactions ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [_tx(r) for r in rows]
    finally:
        conn.close()
