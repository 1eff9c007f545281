"""The neutral transaction and status events the outbox holds, for either version.

Rows (kinds of ncpa/ocpp/outbox.py), their payload fields in snake_case:
- start  (Started): connector_id, id_tag ("": begun at plug-in, not authorized yet),
         meter_start (Wh), timestamp, reservation_id?
- meter  (Updated, samples): connector_id, meter_value [{timestamp, sampled_value [...]}]
- stop   (Ended): meter_stop (Wh), timestamp, reason (neutral stop reason), id_tag?,
         transaction_data? (meter values)
- update (Updated): connector_id, event (authorized: id_tag | deauthorized: reason,
         id_tag?), timestamp; the moments of ncpa/charging/tx_points.py, none in 1.6
- status: connector_id, status (the core's connector status), error_code, timestamp, info?;
         the row's tx_id is the transaction open on the connector then (0: none)

Every payload may carry `neutral`, facts that one version uses and the other does not
(`offline`: the event happened while no CSMS was connected). `fields()` strips it for a
version that sends the rest as it is (1.6); the fields happen to be named as 1.6 names them.
"""

from __future__ import annotations

from typing import Any

NEUTRAL = "neutral"


def fields(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload without the neutral extras."""
    return {k: v for k, v in payload.items() if k != NEUTRAL}


def extras(payload: dict[str, Any]) -> dict[str, Any]:
    value = payload.get(NEUTRAL)
    return value if isinstance(value, dict) else {}


def with_extras(payload: dict[str, Any], **values: Any) -> dict[str, Any]:
    return {**payload, NEUTRAL: {**extras(payload), **values}}
