"""POST /upgrade: a signed bundle, verified before anything changes, then installed.

Streamed to disk (size limit, running SHA-256), checked against the pinned
vendor key; a bad bundle is 400 and removed. A good one is answered at once
(the Upgrade object) and installed in the background: status UPGRADING, open
sessions closed, switch to the new release, restart (rollback if it does not
come up healthy, see ncpa.updates.slots).
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from ncpa.api.errors import ApiError
from ncpa.api.routes import Route, ok, state
from ncpa.api.routes_status import firmware_version
from ncpa.api.upload import receive_file
from ncpa.updates.bundle import BundleError


async def post_upgrade(request: web.Request) -> web.Response:
    st = state(request)
    updates = st.updates
    if updates.busy:
        raise ApiError(409, "an update is being installed")
    if any(v.transaction is not None for v in st.station.views()):
        raise ApiError(409, "a charging session is running; update after it ends")
    if updates.vendor_key is None:
        raise ApiError(503, "no vendor key pinned: updates are disabled on this charger")
    upload = await receive_file(request, "data", updates.incoming, st.settings.max_upload_bytes)
    try:
        bundle = await updates.verify(upload.path, upload.sha256, upload.size)
    except BundleError as e:
        raise ApiError(400, f"data: {e}; nothing was installed", "InvalidBundle") from e
    if updates.busy:  # another upload finished first
        raise ApiError(409, "an update is being installed")
    updates.install(bundle, lambda: st.station.shutdown_sessions("Reboot"), st.on_reboot)
    return ok(
        {
            "originalname": upload.filename,
            "encoding": upload.encoding,
            "mimetype": upload.content_type,
            "size": upload.size,
            "destination": str(bundle.path.parent),
            "location": bundle.path.as_uri(),
            "filename": bundle.path.name,
            "path": str(bundle.path),
            "version": bundle.manifest.version,
            "sha256": bundle.sha256,
        }
    )


async def get_upgrade_state(request: web.Request) -> web.Response:
    """Where an update stands: the install (for the page's progress), the trial, the rollback."""
    st = state(request)
    updates = st.updates
    pending = await asyncio.to_thread(updates.releases.pending)
    rollback = await asyncio.to_thread(updates.releases.last_rollback)
    return ok(
        {
            "state": updates.state,
            "error": updates.error,
            "currentVersion": firmware_version(st),
            "trial": None
            if pending is None
            else {"version": pending.version, "previous": pending.previous},
            "lastRollback": rollback,
        }
    )


ROUTES = [
    Route("POST", "/upgrade", post_upgrade, "operator"),
    Route("GET", "/upgrade/state", get_upgrade_state, "operator"),
]
