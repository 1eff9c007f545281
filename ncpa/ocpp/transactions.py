"""Transaction and status events of the charging core -> durable outbox rows, in event order.

The core publishes synchronously; events go into one asyncio queue and a single
task writes them to the outbox, so the order of Start, MeterValues, Stop and the
status notifications around them is the order of the events. `reconcile()` catches
up on transactions whose events were missed (the agent died between the core's commit
and ours).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from ncpa.charging.station import ChargingStation
from ncpa.events import (
    MeterSample,
    StatusChanged,
    TransactionAuthorized,
    TransactionDeauthorized,
    TransactionEvConnected,
    TransactionStarted,
    TransactionStopped,
)
from ncpa.log import get_logger
from ncpa.ocpp.meter_values import meter_value, sampled_values
from ncpa.ocpp.outbox import METER, START, STATUS, STOP, UPDATE, Outbox
from ncpa.ocpp.settings import OcppSettings
from ncpa.ocpp.timeutil import fmt_time
from ncpa.ocpp.tx_events import with_extras
from ncpa.store import TransactionRecord

log = get_logger(__name__)

WATERMARK = "ocpp.tx_watermark"  # store setting: transactions up to this id predate OCPP
STOP_DATA = "stop_data"  # a writer job: keep a meter value for the transaction's Stop
MAX_KEPT = 500  # meter values kept for one transaction's Stop / Ended (bounded memory, frame)
# neutral extras of the start / stop rows (2.0.1's TxStarted / TxEndedMeasurands; 1.6 has
# no place for them): the samples that go with the meter start / stop
BEGIN = "begin"
END = "end"
# the event of an update row
AUTHORIZED, DEAUTHORIZED, CONNECTED = "authorized", "deauthorized", "connected"
EV_ABSENT = "ev_absent"  # a start row's extra: begun at the authorization, no EV yet


class TransactionRecorder:
    def __init__(self, station: ChargingStation, settings: OcppSettings, outbox: Outbox) -> None:
        self.station = station
        self.settings = settings
        self.outbox = outbox
        self.phases = station.config.station.phases
        self._queue: asyncio.Queue[tuple[str, int, dict[str, Any]]] = asyncio.Queue()
        self._last_sample: dict[int, float] = {}
        self._last_ended: dict[int, float] = {}  # TxEndedSampleInterval, per connector
        self._kept: dict[int, int] = {}  # meter values kept for a transaction's Stop
        self.latest: dict[int, MeterSample] = {}
        self._unsubscribe: list[Any] = []
        self.created = time.time()
        self.online: Callable[[], bool] = lambda: False  # a CSMS connected (set by the client)

    def attach(self) -> None:
        bus = self.station.bus
        self._unsubscribe = [
            bus.subscribe(self._started, TransactionStarted),
            bus.subscribe(self._stopped, TransactionStopped),
            bus.subscribe(self._authorized, TransactionAuthorized),
            bus.subscribe(self._deauthorized, TransactionDeauthorized),
            bus.subscribe(self._ev_connected, TransactionEvConnected),
            bus.subscribe(self._sample, MeterSample),
            bus.subscribe(self._status, StatusChanged),
        ]

    def detach(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    # -- events (synchronous: only queue) -------------------------------------------

    def _started(self, ev: TransactionStarted) -> None:
        self._last_sample[ev.connector_id] = ev.timestamp
        self._last_ended[ev.connector_id] = ev.timestamp
        payload = start_payload(
            ev.connector_id, ev.id_tag, ev.meter_start_wh, ev.timestamp, ev.reservation_id
        )
        begin = self._edge_values(ev.connector_id, "TxStartedMeasurands", "Transaction.Begin")
        if begin:
            payload = with_extras(payload, **{BEGIN: begin})
        if not ev.ev_connected:
            payload = with_extras(payload, **{EV_ABSENT: True})
        self._queue.put_nowait((START, ev.transaction_id, payload))

    def _edge_values(self, connector_id: int, key: str, context: str) -> list[dict[str, Any]]:
        """The sampled values of the measurands a 2.0.1 setting names, from the newest
        reading, for the Started / Ended event (the energy register is the meter start /
        stop already)."""
        measurands = [m for m in self.settings.get_csl(key) if m != "Energy.Active.Import.Register"]
        sample = self.latest.get(connector_id)
        if not measurands or sample is None:
            return []
        return sampled_values(
            sample.reading,
            measurands,
            context,
            sample.offered_a,
            self.phases,
            edges_energy_only=False,
        )

    def _stopped(self, ev: TransactionStopped) -> None:
        # the StopTxnAlignedData values kept in the outbox go before these (Outbox.enqueue)
        payload = stop_payload(
            ev.meter_stop_wh, ev.timestamp, ev.reason, ev.stop_id_tag or ev.id_tag
        )
        measurands = self.settings.get_csl("StopTxnSampledData")
        sample = self.latest.get(ev.connector_id)
        energy = [m for m in measurands if m.startswith("Energy.")]
        if energy and sample is not None:
            payload["transaction_data"] = [
                meter_value(
                    sample.reading, measurands, "Transaction.End", sample.offered_a, self.phases
                )
            ]
        end = self._edge_values(ev.connector_id, "StopTxnSampledData", "Transaction.End")
        if end:
            payload = with_extras(payload, **{END: end})
        self._kept.pop(ev.transaction_id, None)
        self._queue.put_nowait((STOP, ev.transaction_id, payload))

    def _authorized(self, ev: TransactionAuthorized) -> None:
        self._update(ev.connector_id, ev.transaction_id, AUTHORIZED, ev.timestamp, id_tag=ev.id_tag)

    def _deauthorized(self, ev: TransactionDeauthorized) -> None:
        extra = {"id_tag": ev.id_tag} if ev.id_tag else {}
        self._update(
            ev.connector_id,
            ev.transaction_id,
            DEAUTHORIZED,
            ev.timestamp,
            reason=ev.reason,
            **extra,
        )

    def _ev_connected(self, ev: TransactionEvConnected) -> None:
        self._update(ev.connector_id, ev.transaction_id, CONNECTED, ev.timestamp)

    def _update(
        self, connector_id: int, tx_id: int, event: str, ts: float, **fields: str | None
    ) -> None:
        """An update row (tx_events.py): a moment of the transaction, in order."""
        payload = {"connector_id": connector_id, "event": event, "timestamp": fmt_time(ts)}
        self._queue.put_nowait((UPDATE, tx_id, {**payload, **fields}))

    def _status(self, ev: StatusChanged) -> None:
        self.queue_status(ev.connector_id, ev.status, ev.error_code, ev.info)

    def queue_status(self, connector_id: int, status: str, error_code: str, info: str = "") -> None:
        """A StatusNotification, in order with the transaction messages around it."""
        payload: dict[str, Any] = {
            "connector_id": connector_id,
            "error_code": error_code,
            "status": status,
            "timestamp": fmt_time(time.time()),
        }
        if info:
            payload["info"] = info[:50]
        tx = self.station.view(connector_id).transaction if connector_id else None
        self._queue.put_nowait((STATUS, tx.id if tx is not None else 0, payload))

    def _sample(self, ev: MeterSample) -> None:
        self.latest[ev.connector_id] = ev
        if ev.transaction_id is None:
            return
        self._keep_ended_sample(ev)
        interval = self.settings.get_int("MeterValueSampleInterval")
        if interval <= 0:
            return
        ts = ev.reading.timestamp
        last = self._last_sample.get(ev.connector_id, 0.0)
        if ts - last < interval:
            return
        self._last_sample[ev.connector_id] = ts
        self.queue_meter(ev, "Sample.Periodic", self.settings.get_csl("MeterValuesSampledData"))

    def _keep_ended_sample(self, ev: MeterSample) -> None:
        """2.0.1 TxEndedSampleInterval: a sample of TxEndedMeasurands every so many seconds
        of the transaction, for its Ended event (0, the default: none, as 1.6 does)."""
        interval = self.settings.get_int("TxEndedSampleInterval")
        measurands = self.settings.get_csl("StopTxnSampledData")
        if interval <= 0 or not measurands:
            return
        ts = ev.reading.timestamp
        if ts - self._last_ended.get(ev.connector_id, 0.0) < interval:
            return
        self._last_ended[ev.connector_id] = ts
        self._keep(ev, measurands, "Sample.Periodic")

    def remember_aligned(self, ev: MeterSample, measurands: list[str]) -> None:
        """A clock-aligned value for the transaction's Stop (StopTxnAlignedData); kept in
        the store through the writer, so it stays in order with the Stop."""
        self._keep(ev, measurands, "Sample.Clock")

    def _keep(self, ev: MeterSample, measurands: list[str], context: str) -> None:
        assert ev.transaction_id is not None
        kept = self._kept.get(ev.transaction_id, 0)
        if kept >= MAX_KEPT:
            if kept == MAX_KEPT:
                log.warning("ocpp.stop_data.full", tx=ev.transaction_id, kept=kept)
                self._kept[ev.transaction_id] = kept + 1
            return
        self._kept[ev.transaction_id] = kept + 1
        mv = meter_value(ev.reading, measurands, context, ev.offered_a, self.phases)
        self._queue.put_nowait((STOP_DATA, ev.transaction_id, mv))

    def queue_meter(self, ev: MeterSample, context: str, measurands: list[str]) -> None:
        """A transaction meter value (clock-aligned ones come here too)."""
        assert ev.transaction_id is not None
        mv = meter_value(ev.reading, measurands, context, ev.offered_a, self.phases)
        payload = {"connector_id": ev.connector_id, "meter_value": [mv]}
        self._queue.put_nowait((METER, ev.transaction_id, payload))

    # -- the writer ------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            kind, tx_id, payload = await self._queue.get()
            try:
                await self._write(kind, tx_id, payload)
            except Exception:
                # never lose the writer; the reconcile at next start catches up a Start/Stop
                log.exception("ocpp.outbox.write_failed", kind=kind, tx=tx_id)
            finally:
                self._queue.task_done()

    async def flush(self) -> None:
        """Wait until every queued event is in the outbox (tests, shutdown)."""
        await self._queue.join()

    async def _write(self, kind: str, tx_id: int, payload: dict[str, Any]) -> None:
        if kind != STOP_DATA:
            payload = with_extras(payload, offline=not self.online())
        if kind == STATUS:
            # MinimumStatusDuration: a status must last that long to be reported
            hold = self.settings.get_int("MinimumStatusDuration")
            await self.outbox.enqueue(
                STATUS,
                tx_id,
                payload,
                connector_id=payload["connector_id"],
                not_before=time.time() + hold,
            )
            return
        state = await self.outbox.tx_state(tx_id)
        start_queued = state is not None and state[1]
        stop_queued = state is not None and state[2]
        if (kind == START and start_queued) or (kind != START and stop_queued):
            return  # already written (reconcile got there first), or too late for the Stop
        if kind == STOP_DATA:
            await self.outbox.keep_stop_data(tx_id, payload)
            return
        if kind != START and not start_queued:
            record = await self.station.store.transaction(tx_id)
            if record is None:
                log.error("ocpp.outbox.unknown_transaction", tx=tx_id)
                return
            await self.outbox.enqueue(
                START, tx_id, start_from_record(record), connector_id=record.connector_id
            )
        connector_id = payload.get("connector_id")
        if connector_id is None:
            record = await self.station.store.transaction(tx_id)
            connector_id = record.connector_id if record is not None else None
        await self.outbox.enqueue(kind, tx_id, payload, connector_id=connector_id)

    async def reconcile(self) -> None:
        """Queue Start/Stop of recent transactions the outbox has not seen."""
        store = self.station.store
        recent = await store.transactions(limit=500)
        watermark = await store.get_setting(WATERMARK)
        if watermark is None:
            # transactions closed before this client existed predate OCPP; one that ended
            # while the daemon was starting (station up, client not yet) does not
            closed = [t.id for t in recent if not t.is_open and (t.stop_ts or 0) < self.created]
            watermark = max(closed, default=0)
            await store.set_setting(WATERMARK, watermark)
        for record in sorted(recent, key=lambda t: t.id):
            if record.id <= watermark:
                continue
            state = await self.outbox.tx_state(record.id)
            if state is None or not state[1]:
                log.warning("ocpp.outbox.reconcile_start", tx=record.id)
                await self.outbox.enqueue(
                    START, record.id, start_from_record(record), connector_id=record.connector_id
                )
            if not record.is_open and (state is None or not state[2]):
                log.warning("ocpp.outbox.reconcile_stop", tx=record.id)
                assert record.stop_ts is not None
                await self.outbox.enqueue(
                    STOP,
                    record.id,
                    stop_payload(
                        record.meter_stop_wh or record.last_meter_wh,
                        record.stop_ts,
                        record.stop_reason or "Other",
                        record.stop_id_tag or record.id_tag,
                    ),
                    connector_id=record.connector_id,
                )


def start_payload(
    connector_id: int, id_tag: str, meter_wh: float, ts: float, reservation_id: int | None
) -> dict[str, Any]:
    p: dict[str, Any] = {
        "connector_id": connector_id,
        "id_tag": id_tag,
        "meter_start": round(meter_wh),
        "timestamp": fmt_time(ts),
    }
    if reservation_id is not None:
        p["reservation_id"] = reservation_id
    return p


def start_from_record(t: TransactionRecord) -> dict[str, Any]:
    return start_payload(t.connector_id, t.id_tag, t.meter_start_wh, t.start_ts, None)


def stop_payload(meter_wh: float, ts: float, reason: str, id_tag: str | None) -> dict[str, Any]:
    p: dict[str, Any] = {
        "meter_stop": round(meter_wh),
        "timestamp": fmt_time(ts or time.time()),
        "reason": reason,
    }
    if id_tag:
        p["id_tag"] = id_tag
    return p
