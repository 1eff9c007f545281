"""The card whitelist (the same list as the OCPP local authorization list) and learn mode."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ncpa.api.errors import ApiError, bad_param
from ncpa.api.params import API_ID_TAG_LEN
from ncpa.api.routes import Route, ok, state
from ncpa.charging.authorization import check_id_tag
from ncpa.log import get_logger
from ncpa.store import WhitelistEntry

log = get_logger(__name__)

MAX_CARDS = 1000  # the local list's capacity (LocalAuthListMaxLength)


def card_json(entry: WhitelistEntry) -> dict[str, Any]:
    card: dict[str, Any] = {"token": entry.token, "status": entry.status}
    if entry.expiry_ts is not None:
        card["expirationDate"] = int(entry.expiry_ts)
    return card


def _token(request: web.Request) -> str:
    token = request.match_info["token"]
    try:
        return check_id_tag(token, API_ID_TAG_LEN)
    except ValueError as e:
        raise bad_param("token", str(e)) from e


async def get_cards(request: web.Request) -> web.Response:
    cards = await state(request).station.authorizer.cards()
    return ok([card_json(c) for c in cards])


async def get_card(request: web.Request) -> web.Response:
    token = _token(request)
    entry = await state(request).station.authorizer.card(token)
    if entry is None:
        raise ApiError(404, f"card {token} is not on the whitelist")
    return ok(card_json(entry))


async def delete_card(request: web.Request) -> web.Response:
    token = _token(request)
    authorizer = state(request).station.authorizer
    entry = await authorizer.card(token)
    if entry is None:
        raise ApiError(404, f"card {token} is not on the whitelist")
    await authorizer.delete_card(token)
    log.info("api.card_deleted", token=token)
    return ok(card_json(entry))


def registration(status: str, message: str, entry: WhitelistEntry | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"status": status, "statusMessage": message}
    if entry is not None:
        body["card"] = card_json(entry)
    return body


def _registration_response(body: dict[str, Any]) -> web.Response:
    status = {"SUCCESS": 200, "TIMEOUT": 404}.get(body["status"], 503)
    if status != 200:  # errors carry the error fields as well, as every error does
        code = "NotFound" if status == 404 else "ServiceUnavailable"
        body = {**body, "error": code, "message": body["statusMessage"]}
    return ok(body, status)


async def add_accepted(request: web.Request, token: str) -> dict[str, Any]:
    """Put a card on the list as ACCEPTED; a CardRegistration body either way."""
    authorizer = state(request).station.authorizer
    known = await authorizer.card(token)
    if known is None and len(await authorizer.cards()) >= MAX_CARDS:
        return registration("FAILURE", f"the whitelist is full ({MAX_CARDS} cards)")
    entry = WhitelistEntry(token, "ACCEPTED", None, known.parent_id_tag if known else None)
    await authorizer.add_card(entry)
    log.info("api.card_added", token=token)
    return registration("SUCCESS", f"card {token} added", entry)


async def learn_card(request: web.Request) -> web.Response:
    """Long-poll: the next card presented at the reader goes on the list."""
    st = state(request)
    override = st.card_registration_override
    if override is not None:  # developer mode: a canned answer, used once
        st.card_registration_override = None
        return _registration_response(override)
    uid = await st.station.learn_card(st.settings.learn_timeout)
    if uid is None:
        return _registration_response(
            registration("TIMEOUT", f"no card presented within {st.settings.learn_timeout:g} s")
        )
    try:
        return _registration_response(await add_accepted(request, uid))
    except ValueError as e:
        return _registration_response(registration("FAILURE", f"card {uid!r}: {e}"))


ROUTES = [
    Route("GET", "/whitelist/cards", get_cards, "operator"),
    Route("GET", "/whitelist/cards/{token}", get_card, "operator"),
    Route("DELETE", "/whitelist/cards/{token}", delete_card, "operator"),
    Route("GET", "/whitelist/card", learn_card, "operator"),
]
