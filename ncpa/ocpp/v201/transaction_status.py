"""E GetTransactionStatus: is a transaction ongoing, and are its messages still queued."""

from __future__ import annotations

from typing import Any

from ocpp.v201 import call_result

from ncpa.ocpp.routing import on
from ncpa.ocpp.v201 import transactions
from ncpa.ocpp.v201.base import Block


class TransactionStatusBlock(Block):
    @on("GetTransactionStatus")
    async def on_get_transaction_status(
        self, transaction_id: str | None = None, **_: Any
    ) -> call_result.GetTransactionStatus:
        ctx = self.ctx
        if transaction_id is None:
            depth = await ctx.outbox.depth()
            queued = any(depth.get(k, 0) for k in ("start", "meter", "stop"))
            return call_result.GetTransactionStatus(messages_in_queue=queued)
        local = transactions.local_id(ctx.instance_id, transaction_id)
        if local is None:
            return call_result.GetTransactionStatus(
                messages_in_queue=False, ongoing_indicator=False
            )
        ongoing = any(
            v.transaction is not None and v.transaction.id == local for v in ctx.station.views()
        )
        queued = await ctx.outbox.has_messages(local)
        return call_result.GetTransactionStatus(messages_in_queue=queued, ongoing_indicator=ongoing)
