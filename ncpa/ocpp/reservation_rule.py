"""A remote start (1.6 RemoteStartTransaction, 2.0.1 RequestStartTransaction) and the
reservations: answered at once, so it is checked against what the agent knows now.

The core's rule (ncpa/charging/reservation.py) admits the reserved id tag and the members
of its group. The group of an id tag is known before any round trip only from the local
list or the cache (or from the request itself, 2.0.1 groupIdToken): a remote start that
only a reserved connector could serve, for an id tag not known to be admitted, is
Rejected rather than Accepted and then silently not started.
"""

from __future__ import annotations

from ncpa.charging.reservation import admitted
from ncpa.ocpp.context import OcppContext


async def remote_start_admitted(
    ctx: OcppContext, id_tag: str, connector_id: int | None, group: str | None = None
) -> bool:
    station = ctx.station
    candidates = [connector_id] if connector_id is not None else station.connector_ids
    usable = [c for c in candidates if _usable(ctx, c)]
    held = [station.reservation(c) for c in usable]
    if any(res is None for res in held):
        return True  # an unreserved connector can serve it
    parent = group or await ctx.auth.known_parent(id_tag)
    return any(admitted(res, id_tag, parent) for res in held)


def _usable(ctx: OcppContext, connector_id: int) -> bool:
    view = ctx.station.view(connector_id)
    return view.awaits_authorization and view.status not in ("Faulted", "Unavailable")
