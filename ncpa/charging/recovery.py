"""Transactions found open at start: the process died (power cut, crash, kill -9).

Default: close each with reason PowerLoss and the last durable meter reading; one
whose stop had begun (its reason on disk, `Store.note_stopping`) closes with that reason.
With `charging.recovery = "resume"`, a transaction whose connector still has
the EV asking for energy carries on instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ncpa.charging.interlock import ENERGY_STATES
from ncpa.charging.states import StopReason
from ncpa.events import TransactionStopped
from ncpa.log import get_logger

if TYPE_CHECKING:
    from ncpa.charging.station import ChargingStation

log = get_logger(__name__)


async def recover_open_transactions(station: ChargingStation) -> None:
    resume = station.config.charging.recovery == "resume"
    for tx in await station.store.open_transactions():
        conn = station.connectors.get(tx.connector_id)
        # one whose stop had begun (or that was deauthorized, tx_points) is not resumed
        stopping = tx.stop_reason is not None
        if (
            resume
            and not stopping
            and conn is not None
            and conn.pilot in ENERGY_STATES
            and not conn.faults
        ):
            log.info("recovery.resumed", id=tx.id, connector=tx.connector_id)
            await conn.resume(tx)
            continue
        reason = tx.stop_reason or str(StopReason.POWER_LOSS)
        rec = await station.store.close_transaction(
            tx.id, tx.last_meter_wh, tx.last_meter_ts, reason, tx.stop_id_tag
        )
        log.warning(
            "recovery.closed",
            id=rec.id,
            connector=rec.connector_id,
            reason=reason,
            meter_stop_wh=round(tx.last_meter_wh, 1),
        )
        station.bus.publish(
            TransactionStopped(
                rec.connector_id,
                rec.id,
                rec.id_tag,
                tx.last_meter_wh,
                tx.last_meter_ts,
                reason,
                tx.stop_id_tag,
            )
        )
