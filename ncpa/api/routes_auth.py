"""GET /auth: a QR token (from the label) becomes a short-lived access token."""

from __future__ import annotations

import math
import re
import uuid

from aiohttp import web

from ncpa.api.envelope import MAX_TOKEN_CHARS
from ncpa.api.errors import ApiError, bad_param
from ncpa.api.pairing import PairingError, pair
from ncpa.api.params import query_str, require_str
from ncpa.api.routes import Route, ok, state
from ncpa.log import get_logger

log = get_logger(__name__)

CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")


def check_client_id(value: str) -> str:
    if not CLIENT_ID_RE.match(value):
        raise bad_param("clientId", "1..128 letters, digits or . _ : @ -")
    return value


async def get_auth(request: web.Request) -> web.Response:
    st = state(request)
    client_id = query_str(request, "clientId", required=False, max_len=128)
    if client_id is not None:
        check_client_id(client_id)
    # per client: the phone's address, and the clientId it claims (either one is limited)
    for key in {f"addr:{request.remote}", *([f"client:{client_id}"] if client_id else [])}:
        wait = st.auth_limiter.check(key)
        if wait is not None:
            raise ApiError(
                429,
                f"too many pairing attempts; retry in {math.ceil(wait)} s",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
    token = require_str(request, "token", max_len=MAX_TOKEN_CHARS)
    if st.pairing is None:
        raise ApiError(503, "pairing keys are not installed on this charger")
    try:
        qr = await pair(token, st.pairing, st.jtis)
    except PairingError as e:
        log.warning("api.pairing_refused", reason=str(e), remote=request.remote)
        raise ApiError(401, str(e)) from e
    client = client_id or f"client-{uuid.uuid4().hex[:16]}"
    access = st.tokens.issue(qr.role, client)
    log.info("api.paired", role=qr.role, client=client, remote=request.remote)
    return ok(
        {
            "accessToken": access,
            "clientId": client,
            "role": qr.role,
            "expiresIn": int(st.settings.token_ttl),
        }
    )


ROUTES = [Route("GET", "/auth", get_auth, role=None)]
