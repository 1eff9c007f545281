"""Durable queue of transaction messages (StartTransaction, StopTransaction, MeterValues)
and of status notifications: one ordered pipe, so the CSMS learns of a transaction before
the status that depends on it, in the order things happened, through outages too.

Each message is committed to SQLite with its OCPP message id before it is sent,
and deleted only once the CSMS has answered, so it is delivered in order and,
from the CSMS's point of view, exactly once: a retry (after a timeout, an
outage or a restart) reuses the same message id.

The CSMS transaction id is not known until StartTransaction is answered, so
StopTransaction and MeterValues rows hold the local transaction id and get the
CSMS id filled in when they reach the head of the queue. Delivery is strictly
in order, so a Stop can never overtake its Start.

Meter values meant for a transaction's StopTransaction (StopTxnAlignedData) wait
in their own table until the Stop is queued; they then move into its row in the
same SQLite transaction, so a restart in between loses none of them.

Status rows (no transaction, `tx_id` 0) are coalesced: a newer status of a connector
replaces its older queued one unless a transaction message of that connector lies between
them, so an outage queues at most one status per connector between its transaction
messages. A status row may wait (`not_before`) for MinimumStatusDuration.

Rows a CSMS never acknowledges: after TransactionMessageAttempts a row is dropped (1.6:
a dropped Start takes its transaction's later messages with it) or, when the adapter keeps
undelivered rows (2.0.1), parked: kept, skipped by the pump so later rows flow (the later
rows of its own transaction are parked behind it unsent, so a transaction's events stay in
order), and retried at the next connection and, on a stable line, when the queue is idle.
The oldest parked row goes first as a probe; once it is delivered every parked row is due
again, in its original order. A parked row keeps the seqNo it was given (stamped on the row
as it is parked), so no seqNo is reused or skipped. Parked rows are bounded by
`max_parked`: beyond it the oldest parked rows are deleted, logged as errors.

Capacity: `max_rows` (default 200 000, about 80 MB) holds more than 30 days of
60 s samples on two connectors. When it is reached, or the disk has less than
MIN_FREE_BYTES left, every second queued meter value is deleted (thinning); Start
and Stop rows are never dropped for space.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ncpa.log import get_logger
from ncpa.store import Store, atomic

log = get_logger(__name__)

START, STOP, METER, STATUS = "start", "stop", "meter", "status"
# the authorization of a transaction begun at plug-in, or a stop that leaves it open
# (ncpa/charging/tx_points.py): 2.0.1 TransactionEvent Updated; 1.6 has no such moment
UPDATE = "update"
MIN_FREE_BYTES = 64 * 2**20
_SPACE_CHECK_EVERY = 256  # meter rows between two looks at the free disk space
ACTIONS = {
    START: "StartTransaction",
    STOP: "StopTransaction",
    METER: "MeterValues",
    STATUS: "StatusNotification",
    UPDATE: "TransactionEvent",
}

_MIGRATIONS = [
    """
    CREATE TABLE ocpp_outbox (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        unique_id   TEXT NOT NULL,
        kind        TEXT NOT NULL,
        tx_id       INTEGER NOT NULL,
        payload     TEXT NOT NULL,
        attempts    INTEGER NOT NULL DEFAULT 0,
        next_try_ts REAL NOT NULL DEFAULT 0,
        created_ts  REAL NOT NULL
    );
    CREATE INDEX ocpp_outbox_kind ON ocpp_outbox(kind, seq);
    CREATE TABLE ocpp_tx (
        tx_id        INTEGER PRIMARY KEY,
        remote_id    INTEGER,
        start_queued INTEGER NOT NULL DEFAULT 0,
        stop_queued  INTEGER NOT NULL DEFAULT 0,
        dropped      INTEGER NOT NULL DEFAULT 0
    );
    """,
    # StopTxnAlignedData: clock-aligned values of running transactions, for their Stop
    """
    CREATE TABLE ocpp_stop_data (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        tx_id       INTEGER NOT NULL,
        meter_value TEXT NOT NULL
    );
    CREATE INDEX ocpp_stop_data_tx ON ocpp_stop_data(tx_id, seq);
    """,
    # status notifications in the same ordered pipe; the connector of each row
    """
    ALTER TABLE ocpp_outbox ADD COLUMN connector_id INTEGER;
    CREATE INDEX ocpp_outbox_connector ON ocpp_outbox(connector_id, seq);
    """,
    # 2.0.1: the next seqNo of a transaction's events, advanced as each one is delivered
    """
    ALTER TABLE ocpp_tx ADD COLUMN seq_no INTEGER NOT NULL DEFAULT 0;
    """,
    # rows a CSMS never acknowledged, kept (0 live, 1 parked, 2 probe), with their seqNo
    """
    ALTER TABLE ocpp_outbox ADD COLUMN parked INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE ocpp_outbox ADD COLUMN seq_no INTEGER;
    CREATE INDEX ocpp_outbox_parked ON ocpp_outbox(parked, seq);
    """,
]
LIVE, PARKED, PROBE = 0, 1, 2


@dataclass(frozen=True)
class Item:
    seq: int
    unique_id: str
    kind: str
    tx_id: int  # local transaction id
    payload: dict[str, Any]  # snake_case fields of the call; transaction_id added at send
    attempts: int
    next_try_ts: float
    remote_id: str | None = None  # the CSMS transaction id, when known (read with the row)
    seq_no: int = 0  # the transaction's next event number (2.0.1 seqNo), read with the row
    parked: int = LIVE  # PROBE: a parked row retried at a new connection

    @property
    def action(self) -> str:
        return ACTIONS[self.kind]


class Outbox:
    def __init__(
        self, store: Store, max_rows: int = 200_000, max_parked: int | None = None
    ) -> None:
        self.store = store
        self.max_rows = max_rows
        self.max_parked = max_parked if max_parked is not None else max(1, max_rows // 4)
        self.changed = asyncio.Event()  # set when a row is added (wakes the sender)
        self.free_bytes: Callable[[], int] = lambda: shutil.disk_usage(store.path.parent).free
        self._meters_since_check = 0
        # False only when no row is parked for sure (this object parks and releases them):
        # spares the 2.0.1 pump a query per row in the common case
        self._maybe_parked = True

    async def open(self) -> None:
        await self.store.migrate("ocpp-outbox", _MIGRATIONS)
        self._maybe_parked = await self.parked() > 0

    # -- writing ---------------------------------------------------------------

    async def keep_stop_data(self, tx_id: int, meter_value: dict[str, Any]) -> None:
        """Keep a meter value for the transaction's StopTransaction (transactionData)."""
        data = json.dumps(meter_value)

        def _put(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO ocpp_stop_data(tx_id, meter_value) VALUES (?, ?)", (tx_id, data)
            )

        await self.store.call(_put)

    async def stop_data(self, tx_id: int) -> list[dict[str, Any]]:
        """The meter values kept for a transaction's Stop, oldest first."""

        def _get(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            return _stop_data(conn, tx_id)

        return await self.store.call(_get)

    async def enqueue(
        self,
        kind: str,
        tx_id: int,
        payload: dict[str, Any],
        connector_id: int | None = None,
        not_before: float = 0.0,
    ) -> str:
        """Commit a message; returns its OCPP message id.

        A StopTransaction takes the meter values kept for it (`keep_stop_data`) into its
        transactionData, ahead of the ones in `payload`. A status (`tx_id` 0) replaces the
        connector's older queued status when no transaction message lies between them.
        """
        if kind not in ACTIONS:
            raise ValueError(f"outbox: unknown kind {kind!r}")
        unique_id = str(uuid.uuid4())
        now = time.time()
        low_space = False
        if kind == METER:
            self._meters_since_check += 1
            if self._meters_since_check >= _SPACE_CHECK_EVERY:
                self._meters_since_check = 0
                low_space = await asyncio.to_thread(self.free_bytes) < MIN_FREE_BYTES

        if connector_id is None:
            connector_id = payload.get("connector_id")

        def _put(conn: sqlite3.Connection) -> int:
            with atomic(conn):
                data = json.dumps(payload)
                if kind == STATUS:
                    _coalesce_status(conn, connector_id)
                if kind == STOP:
                    kept = _stop_data(conn, tx_id)
                    if kept:
                        merged = kept + list(payload.get("transaction_data", []))
                        data = json.dumps({**payload, "transaction_data": merged})
                        conn.execute("DELETE FROM ocpp_stop_data WHERE tx_id = ?", (tx_id,))
                conn.execute(
                    "INSERT INTO ocpp_outbox(unique_id, kind, tx_id, payload, created_ts, "
                    "connector_id, next_try_ts) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (unique_id, kind, tx_id, data, now, connector_id, not_before),
                )
                if kind == STATUS:
                    return 0
                conn.execute("INSERT OR IGNORE INTO ocpp_tx(tx_id) VALUES (?)", (tx_id,))
                if kind == START:
                    conn.execute("UPDATE ocpp_tx SET start_queued = 1 WHERE tx_id = ?", (tx_id,))
                elif kind == STOP:
                    conn.execute("UPDATE ocpp_tx SET stop_queued = 1 WHERE tx_id = ?", (tx_id,))
                count: int = conn.execute("SELECT COUNT(*) FROM ocpp_outbox").fetchone()[0]
                if kind != METER or (count <= self.max_rows and not low_space):
                    return 0
                # thin meter values: drop every second one (never a Start or Stop)
                return conn.execute(
                    "WITH m AS (SELECT seq, ROW_NUMBER() OVER (ORDER BY seq) AS rn "
                    "FROM ocpp_outbox WHERE kind = 'meter') "
                    "DELETE FROM ocpp_outbox WHERE seq IN (SELECT seq FROM m WHERE rn % 2 = 0)"
                ).rowcount

        thinned = await self.store.call(_put)
        if thinned:
            log.warning("ocpp.outbox.thinned", meter_values_dropped=thinned)
        self.changed.set()
        return unique_id

    # -- reading ---------------------------------------------------------------

    async def head(self) -> Item | None:
        """The oldest row that is not parked."""

        def _head(conn: sqlite3.Connection) -> Item | None:
            row = conn.execute(_SELECT + "WHERE o.parked != ? ORDER BY o.seq LIMIT 1", (PARKED,))
            return _item(row.fetchone())

        return await self.store.call(_head)

    async def due_after(self, seq: int, kind: str, limit: int = 32) -> list[Item]:
        """Rows of `kind` after `seq` that are due now (what may overtake a waiting head)."""

        def _due(conn: sqlite3.Connection) -> list[Item]:
            rows = conn.execute(
                _SELECT + "WHERE o.parked = ? AND o.kind = ? AND o.seq > ? AND o.next_try_ts <= ? "
                "ORDER BY o.seq LIMIT ?",
                (LIVE, kind, seq, time.time(), limit),
            )
            return [i for i in map(_item, rows) if i is not None]

        return await self.store.call(_due)

    async def parked(self) -> int:
        """How many rows are parked (kept after their attempts, retried at a new connection)."""

        def _count(conn: sqlite3.Connection) -> int:
            q = "SELECT COUNT(*) FROM ocpp_outbox WHERE parked != ?"
            return int(conn.execute(q, (LIVE,)).fetchone()[0])

        return await self.store.call(_count)

    async def retry_parked(self) -> bool:
        """A new connection: the oldest parked row becomes due again, as a probe (True when
        there was one). Its delivery makes every parked row due (`delivered`)."""

        def _probe(conn: sqlite3.Connection) -> bool:
            return (
                conn.execute(
                    "UPDATE ocpp_outbox SET parked = ?, next_try_ts = 0 WHERE seq = "
                    "(SELECT MIN(seq) FROM ocpp_outbox WHERE parked = ?)",
                    (PROBE, PARKED),
                ).rowcount
                > 0
            )

        probed = await self.store.call(_probe)
        if probed:
            self.changed.set()
        return probed

    async def depth(self) -> dict[str, int]:
        def _depth(conn: sqlite3.Connection) -> dict[str, int]:
            rows = conn.execute("SELECT kind, COUNT(*) FROM ocpp_outbox GROUP BY kind")
            return {k: n for k, n in rows}

        return await self.store.call(_depth)

    async def live(self, kind: str) -> int:
        """Queued rows of `kind` that the pump will send (parked ones left out)."""

        def _count(conn: sqlite3.Connection) -> int:
            q = "SELECT COUNT(*) FROM ocpp_outbox WHERE kind = ? AND parked != ?"
            return int(conn.execute(q, (kind, PARKED)).fetchone()[0])

        return await self.store.call(_count)

    async def has_messages(self, tx_id: int) -> bool:
        """Is a message of this transaction still queued?"""

        def _any(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT 1 FROM ocpp_outbox WHERE tx_id = ? AND kind != ? LIMIT 1",
                (tx_id, STATUS),
            ).fetchone()
            return row is not None

        return await self.store.call(_any)

    async def drained(
        self, kind: str, within: float, still: Callable[[], bool] = lambda: True
    ) -> bool:
        """Wait until no `kind` message is queued to be sent (False: still some after
        `within` s, or `still()` turned false, e.g. the connection is gone). Parked rows do
        not count: they wait for a new connection."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while await self.live(kind):
            if loop.time() >= deadline or not still():
                return False
            await asyncio.sleep(0.05)
        return True

    async def tx_state(self, tx_id: int) -> tuple[str | None, bool, bool, bool] | None:
        """(remote id, start queued, stop queued, dropped) of a local transaction."""

        def _get(conn: sqlite3.Connection) -> tuple[str | None, bool, bool, bool] | None:
            row = conn.execute(
                "SELECT remote_id, start_queued, stop_queued, dropped FROM ocpp_tx WHERE tx_id = ?",
                (tx_id,),
            ).fetchone()
            if row is None:
                return None
            remote = None if row[0] is None else str(row[0])
            return (remote, bool(row[1]), bool(row[2]), bool(row[3]))

        return await self.store.call(_get)

    async def remote_id(self, tx_id: int) -> str | None:
        state = await self.tx_state(tx_id)
        return state[0] if state else None

    async def local_ids(self, remote_id: str) -> list[int]:
        """Local transactions the CSMS knows by `remote_id` (some CSMSs reuse ids)."""

        def _get(conn: sqlite3.Connection) -> list[int]:
            rows = conn.execute(
                "SELECT tx_id FROM ocpp_tx WHERE remote_id = ? ORDER BY tx_id DESC", (remote_id,)
            )
            return [r[0] for r in rows]

        return await self.store.call(_get)

    # -- outcome of a send -----------------------------------------------------

    async def delivered(
        self, item: Item, remote_id: str | None = None, seq_no: int | None = None
    ) -> None:
        def _done(conn: sqlite3.Connection) -> None:
            with atomic(conn):
                conn.execute("DELETE FROM ocpp_outbox WHERE seq = ?", (item.seq,))
                if seq_no is not None:
                    # MAX: a parked row delivered late must not move the counter back
                    conn.execute(
                        "UPDATE ocpp_tx SET seq_no = MAX(seq_no, ?) WHERE tx_id = ?",
                        (seq_no, item.tx_id),
                    )
                if item.parked == PROBE:
                    # the CSMS takes our messages again: every parked row is due, in order
                    conn.execute(
                        "UPDATE ocpp_outbox SET parked = ?, next_try_ts = 0 WHERE parked != ?",
                        (LIVE, LIVE),
                    )
                if remote_id is not None:
                    # one durable step: the answer, the queue and the local transaction
                    conn.execute(
                        "UPDATE ocpp_tx SET remote_id = ? WHERE tx_id = ?", (remote_id, item.tx_id)
                    )
                    conn.execute(
                        "UPDATE transactions SET remote_id = ? WHERE id = ?",
                        (str(remote_id), item.tx_id),
                    )

        await self.store.call(_done)
        if item.parked == PROBE:
            self._maybe_parked = False  # every parked row was released above

    async def failed(
        self, item: Item, max_attempts: int, retry_interval: float, park: bool = False
    ) -> bool:
        """Count a failed attempt; True when the attempts are used up: the message is
        dropped, or parked when `park` (the adapter keeps undelivered rows).

        A dropped StartTransaction takes the transaction's later messages with it:
        without a CSMS transaction id they cannot be sent.
        """
        attempts = item.attempts + 1
        drop = attempts >= max_attempts
        if drop and park:
            return await self._park(item, attempts)

        def _fail(conn: sqlite3.Connection) -> None:
            with atomic(conn):
                if drop:
                    conn.execute("DELETE FROM ocpp_outbox WHERE seq = ?", (item.seq,))
                    if item.kind == START:
                        conn.execute(
                            "UPDATE ocpp_tx SET dropped = 1 WHERE tx_id = ?", (item.tx_id,)
                        )
                else:
                    # the retry interval grows with each attempt (OCPP 1.6 section 4.10)
                    conn.execute(
                        "UPDATE ocpp_outbox SET attempts = ?, next_try_ts = ? WHERE seq = ?",
                        (attempts, time.time() + retry_interval * attempts, item.seq),
                    )

        await self.store.call(_fail)
        if drop:
            log.error("ocpp.outbox.dropped", action=item.action, tx=item.tx_id, attempts=attempts)
        return drop

    async def park_behind(self, item: Item) -> bool:
        """Park a row of a transaction that has an older row parked, without sending it:
        a transaction's events stay in order (they are released together). False when
        its transaction has none parked."""
        if not self._maybe_parked:
            return False
        return await self._park(item, item.attempts, behind=True)

    async def _park(self, item: Item, attempts: int, behind: bool = False) -> bool:
        """Keep a row its CSMS did not acknowledge, with the seqNo it was sent with; later
        rows of its transaction number on from there."""

        def _put(conn: sqlite3.Connection) -> tuple[bool, int]:
            with atomic(conn):
                if (
                    behind
                    and not conn.execute(
                        "SELECT 1 FROM ocpp_outbox WHERE tx_id = ? AND seq < ? AND parked != ? "
                        "LIMIT 1",
                        (item.tx_id, item.seq, LIVE),
                    ).fetchone()
                ):
                    return False, 0
                first = conn.execute(
                    "UPDATE ocpp_outbox SET parked = ?, attempts = ?, seq_no = ? "
                    "WHERE seq = ? AND seq_no IS NULL",
                    (PARKED, attempts, item.seq_no, item.seq),
                ).rowcount
                if first and item.tx_id:  # a transaction event: its number is taken
                    conn.execute(
                        "UPDATE ocpp_tx SET seq_no = MAX(seq_no, ?) WHERE tx_id = ?",
                        (item.seq_no + 1, item.tx_id),
                    )
                conn.execute(
                    "UPDATE ocpp_outbox SET parked = ?, attempts = ? WHERE seq = ?",
                    (PARKED, attempts, item.seq),
                )
                count = conn.execute(
                    "SELECT COUNT(*) FROM ocpp_outbox WHERE parked != ?", (LIVE,)
                ).fetchone()[0]
                excess = count - self.max_parked
                if excess <= 0:
                    return True, 0
                # bounded: the oldest parked meter values go first, then the oldest rows
                return True, conn.execute(
                    "DELETE FROM ocpp_outbox WHERE seq IN (SELECT seq FROM ocpp_outbox "
                    "WHERE parked != ? ORDER BY kind = 'meter' DESC, seq LIMIT ?)",
                    (LIVE, excess),
                ).rowcount

        self._maybe_parked = True
        parked, evicted = await self.store.call(_put)
        if not parked:
            return False
        report = log.info if behind else log.error
        report(
            "ocpp.outbox.parked",
            action=item.action,
            tx=item.tx_id,
            seq_no=item.seq_no,
            attempts=attempts,
            behind=behind,
        )
        if evicted:
            log.error("ocpp.outbox.parked_evicted", rows=evicted, max_parked=self.max_parked)
        return True

    async def repair_remote_ids(self) -> int:
        """Local transactions missing the CSMS id the queue knows (written by older
        versions in two steps, a crash between them): copy it over."""

        def _repair(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "UPDATE transactions SET remote_id = (SELECT CAST(t.remote_id AS TEXT) "
                "FROM ocpp_tx t WHERE t.tx_id = transactions.id) "
                "WHERE remote_id IS NULL AND id IN "
                "(SELECT tx_id FROM ocpp_tx WHERE remote_id IS NOT NULL)"
            ).rowcount

        return await self.store.call(_repair)

    async def discard(self, item: Item, why: str, expected: bool = False) -> None:
        """Delete a row this version cannot send (`expected`: by design, e.g. the
        station-wide status 2.0.1 does not have; logged as info, not as an error)."""

        def _del(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM ocpp_outbox WHERE seq = ?", (item.seq,))

        await self.store.call(_del)
        report = log.info if expected else log.error
        report("ocpp.outbox.discarded", action=item.action, tx=item.tx_id, why=why)


_SELECT = (
    "SELECT o.seq, o.unique_id, o.kind, o.tx_id, o.payload, o.attempts, o.next_try_ts, "
    "t.remote_id, COALESCE(o.seq_no, t.seq_no), o.parked FROM ocpp_outbox o "
    "LEFT JOIN ocpp_tx t ON t.tx_id = o.tx_id "
)


def _item(row: Any) -> Item | None:
    if row is None:
        return None
    seq, unique_id, kind, tx_id, payload, attempts, next_try, remote, seq_no, parked = row
    return Item(
        seq,
        unique_id,
        kind,
        tx_id,
        json.loads(payload),
        attempts,
        next_try,
        None if remote is None else str(remote),
        seq_no or 0,
        parked,
    )


def _coalesce_status(conn: sqlite3.Connection, connector_id: int | None) -> None:
    """Delete the connector's queued statuses after its last transaction message."""
    last_tx = conn.execute(
        "SELECT MAX(seq) FROM ocpp_outbox WHERE connector_id IS ? AND kind != ?",
        (connector_id, STATUS),
    ).fetchone()[0]
    conn.execute(
        "DELETE FROM ocpp_outbox WHERE kind = ? AND connector_id IS ? AND seq > ? AND parked = ?",
        (STATUS, connector_id, last_tx or 0, LIVE),
    )


def _stop_data(conn: sqlite3.Connection, tx_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT meter_value FROM ocpp_stop_data WHERE tx_id = ? ORDER BY seq", (tx_id,)
    )
    return [json.loads(r[0]) for r in rows]
