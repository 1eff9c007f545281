"""PUT /whitelist/cards/{token}: add a card, or block / accept / expire one, by hand.

Body {"status": "ACCEPTED" | "BLOCKED", "expirationDate"?: epoch seconds}. Answers the
card as stored. The list is the OCPP local list; a full list is 409 and changes nothing.
"""

from __future__ import annotations

from aiohttp import web

from ncpa.api.errors import ApiError, bad_param
from ncpa.api.params import json_body
from ncpa.api.routes import Route, ok, state
from ncpa.api.routes_whitelist import MAX_CARDS, _token, card_json
from ncpa.log import get_logger
from ncpa.store import WhitelistEntry

log = get_logger(__name__)

EDITABLE = ("ACCEPTED", "BLOCKED")
MAX_EPOCH = 4_102_444_800  # 2100-01-01


async def put_card(request: web.Request) -> web.Response:
    token = _token(request)
    body = await json_body(request, "body", max_bytes=1024)
    if not isinstance(body, dict) or not set(body) <= {"status", "expirationDate"}:
        raise bad_param("body", '{"status": "ACCEPTED" | "BLOCKED", "expirationDate"?: int}')
    status = body.get("status")
    if status not in EDITABLE:
        raise bad_param("status", f"one of {', '.join(EDITABLE)}")
    expiry = body.get("expirationDate")
    if expiry is not None and (
        isinstance(expiry, bool) or not isinstance(expiry, int) or not 0 < expiry < MAX_EPOCH
    ):
        raise bad_param("expirationDate", "epoch seconds (an integer)")
    authorizer = state(request).station.authorizer
    known = await authorizer.card(token)
    if known is None and len(await authorizer.cards()) >= MAX_CARDS:
        raise ApiError(409, f"the whitelist is full ({MAX_CARDS} cards)")
    entry = WhitelistEntry(token, status, expiry, known.parent_id_tag if known else None)
    await authorizer.add_card(entry)
    log.info("api.card_set", token=token, status=status)
    return ok(card_json(entry))


ROUTES = [Route("PUT", "/whitelist/cards/{token}", put_card, "operator")]
