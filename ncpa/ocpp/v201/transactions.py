"""E Transactions: the queue's neutral rows -> TransactionEvent Started / Updated / Ended.

The transactionId is the station's own: a per-database prefix and the local id, so it is
known before the CSMS answers and never reused. seqNo counts a transaction's events from
0: the next number is kept with the transaction in the queue's table and advanced in the
same SQLite step that deletes the delivered row, so a resend after a crash carries the
same number and no number is skipped or used twice.

A transaction begun at plug-in (TxStartPoint EVConnected) starts without an idToken
(CablePluggedIn) and its update row brings the idToken (Authorized / RemoteStart); a stop
that leaves it open (TxStopPoint EVConnected) is an update row too (StopAuthorized /
RemoteStop / Deauthorized, chargingState EVConnected).

A status row during a transaction whose connector stays Occupied (charging, paused by the
EV or the EVSE) is a ChargingStateChanged event of that transaction; other status rows
are StatusNotifications (availability.py).
"""

from __future__ import annotations

from typing import Any

from ocpp.v201 import call

from ncpa.ocpp.outbox import METER, START, STATUS, STOP, UPDATE, Item
from ncpa.ocpp.transactions import AUTHORIZED, BEGIN, CONNECTED, END, EV_ABSENT
from ncpa.ocpp.tx_events import extras
from ncpa.ocpp.v201 import messages
from ncpa.ocpp.v201.ids import evse_of

# store setting: the prefix of this database's transaction ids
PREFIX_KEY = "ocpp.v201.tx_prefix"


def transaction_id(prefix: str, local_id: int) -> str:
    return f"{prefix}-{local_id}"


def local_id(prefix: str, transaction_id: str) -> int | None:
    """Our local id from a transactionId we gave out (None: not one of ours)."""
    head, _, tail = transaction_id.rpartition("-")
    return int(tail) if head == prefix and tail.isdigit() else None


def _edge(p: dict[str, Any], register: str, extra: str, context: str) -> dict[str, Any]:
    """The meter start / stop, with the samples of TxStarted / TxEndedMeasurands."""
    mv = messages.energy_sample(p[register], context, p["timestamp"])
    more = extras(p).get(extra) or []
    mv["sampled_value"] += messages.meter_value({"timestamp": "", "sampled_value": more})[
        "sampled_value"
    ]
    return mv


def is_charging_state(item: Item) -> bool:
    return (
        item.kind == STATUS
        and item.tx_id > 0
        and item.payload["status"]
        in (
            "Charging",
            "SuspendedEV",
            "SuspendedEVSE",
        )
    )


def event(item: Item, prefix: str, id_token_type: str, remote_start_id: int | None = None) -> Any:
    """The TransactionEvent for a transaction row (or a charging-state status row)."""
    p = item.payload
    offline = bool(extras(p).get("offline"))
    info: dict[str, Any] = {"transaction_id": transaction_id(prefix, item.tx_id)}
    common: dict[str, Any] = {"seq_no": item.seq_no, "offline": offline or None}
    if item.kind == START:
        evse_id, conn = evse_of(int(p["connector_id"]))
        # begun at the authorization (TxStartPoint Authorized): no EV yet
        info["charging_state"] = "Idle" if extras(p).get(EV_ABSENT) else "EVConnected"
        if remote_start_id is not None:
            info["remote_start_id"] = remote_start_id
        trigger = "RemoteStart" if remote_start_id is not None else "Authorized"
        if not p["id_tag"]:
            trigger = "CablePluggedIn"  # begun at plug-in: the idToken comes with an update
        return call.TransactionEvent(
            event_type="Started",
            timestamp=p["timestamp"],
            trigger_reason=trigger,
            transaction_info=info,
            evse={"id": evse_id, "connector_id": conn},
            id_token=messages.id_token(p["id_tag"], id_token_type) if p["id_tag"] else None,
            meter_value=[_edge(p, "meter_start", BEGIN, "Transaction.Begin")],
            reservation_id=p.get("reservation_id"),
            **common,
        )
    if item.kind == METER:
        mvs = [messages.meter_value(mv) for mv in p["meter_value"]]
        contexts = {sv.get("context") for mv in mvs for sv in mv["sampled_value"]}
        trigger = "MeterValuePeriodic"
        if "Sample.Clock" in contexts:
            trigger = "MeterValueClock"
        elif "Trigger" in contexts:
            trigger = "Trigger"
        return call.TransactionEvent(
            event_type="Updated",
            timestamp=mvs[0]["timestamp"] if mvs else p.get("timestamp", ""),
            trigger_reason=trigger,
            transaction_info=info,
            meter_value=mvs,
            **common,
        )
    if item.kind == UPDATE:
        return _update(p, info, common, id_token_type, remote_start_id)
    if item.kind == STATUS:
        info["charging_state"] = messages.CHARGING_STATE[p["status"]]
        return call.TransactionEvent(
            event_type="Updated",
            timestamp=p["timestamp"],
            trigger_reason="ChargingStateChanged",
            transaction_info=info,
            **common,
        )
    assert item.kind == STOP
    stopped, trigger = messages.STOP.get(str(p["reason"]), ("Other", "AbnormalCondition"))
    info["stopped_reason"] = stopped
    # the kept values (TxEndedInterval, aligned), then the meter stop with TxEndedMeasurands;
    # 1.6's own end sample (energy only) is in the meter stop already
    ended = [
        messages.meter_value(mv)
        for mv in p.get("transaction_data", [])
        if not any(sv.get("context") == "Transaction.End" for sv in mv.get("sampled_value", []))
    ]
    ended.append(_edge(p, "meter_stop", END, "Transaction.End"))
    if stopped == "EVDisconnected":
        info["charging_state"] = "Idle"  # the EV is gone
    id_token = None
    if p.get("id_tag") and stopped in ("Local", "DeAuthorized"):
        id_token = messages.id_token(p["id_tag"], id_token_type)
    return call.TransactionEvent(
        event_type="Ended",
        timestamp=p["timestamp"],
        trigger_reason=trigger,
        transaction_info=info,
        meter_value=ended,
        id_token=id_token,
        **common,
    )


def _update(
    p: dict[str, Any],
    info: dict[str, Any],
    common: dict[str, Any],
    id_token_type: str,
    remote_start_id: int | None,
) -> Any:
    """The authorization of a transaction begun at plug-in, the EV of one begun at its
    authorization, or a stop that leaves it open."""
    if p["event"] == CONNECTED:
        info["charging_state"] = "EVConnected"
        return call.TransactionEvent(
            event_type="Updated",
            timestamp=p["timestamp"],
            trigger_reason="CablePluggedIn",
            transaction_info=info,
            **common,
        )
    if p["event"] == AUTHORIZED:
        if remote_start_id is not None:
            info["remote_start_id"] = remote_start_id
        return call.TransactionEvent(
            event_type="Updated",
            timestamp=p["timestamp"],
            trigger_reason="RemoteStart" if remote_start_id is not None else "Authorized",
            transaction_info=info,
            id_token=messages.id_token(p["id_tag"], id_token_type),
            **common,
        )
    reason = str(p["reason"])
    info["charging_state"] = "EVConnected"
    id_tag = p.get("id_tag")
    return call.TransactionEvent(
        event_type="Updated",
        timestamp=p["timestamp"],
        trigger_reason=messages.DEAUTHORIZED_TRIGGER.get(reason, "Deauthorized"),
        transaction_info=info,
        id_token=messages.id_token(id_tag, id_token_type) if id_tag and reason == "Local" else None,
        **common,
    )
