"""/charging/start|stop|unlock: the local RemoteStart, RemoteStop and UnlockConnector."""

from __future__ import annotations

from aiohttp import web

from ncpa.api.errors import ApiError, bad_param
from ncpa.api.params import API_ID_TAG_LEN, query_int, require_str
from ncpa.api.routes import Route, no_content, state
from ncpa.charging.authorization import check_id_tag
from ncpa.log import get_logger

log = get_logger(__name__)


def _tag(request: web.Request) -> str:
    tag = require_str(request, "tag", max_len=64)
    try:
        return check_id_tag(tag, API_ID_TAG_LEN)
    except ValueError as e:
        raise bad_param("tag", str(e)) from e


def _connector(request: web.Request) -> int | None:
    station = state(request).station
    if "connectorId" not in request.query:
        return None
    cid = query_int(request, "connectorId", 1, 99)
    if cid not in station.connector_ids:
        raise bad_param("connectorId", f"no connector {cid} (have {station.connector_ids})")
    return cid


async def post_start(request: web.Request) -> web.Response:
    tag = _tag(request)
    cid = _connector(request)
    station = state(request).station
    if not await station.remote_start(tag, cid):
        raise ApiError(409, "no connector can start a session now (busy, reserved or inoperative)")
    log.info("api.charging_start", tag=tag, connector=cid)
    return no_content()


async def post_stop(request: web.Request) -> web.Response:
    tag = _tag(request)
    station = state(request).station
    for view in station.views():
        tx = view.transaction
        if tx is not None and tx.id_tag == tag:
            if not await station.stop_transaction(tx.id, "Remote", tag):
                raise ApiError(409, f"transaction {tx.id} could not be stopped")
            log.info("api.charging_stop", tag=tag, transaction=tx.id)
            return no_content()
    raise ApiError(404, f"tag: no transaction running for {tag}")


async def post_unlock(request: web.Request) -> web.Response:
    station = state(request).station
    cid = _connector(request) or station.connector_ids[0]
    result = await station.unlock(cid)
    log.info("api.unlock", connector=cid, result=result)
    if result == "Unlocked":
        return no_content()
    if result == "NotSupported":
        raise ApiError(409, f"connector {cid} has no lock (tethered cable)")
    raise ApiError(503, f"connector {cid}: the lock did not open")


ROUTES = [
    Route("POST", "/charging/start", post_start, "operator"),
    Route("POST", "/charging/stop", post_stop, "operator"),
    Route("POST", "/charging/unlock", post_unlock, "operator"),
]
