"""Developer mode on the simulator: the web page's simulator panel, through the API.

The page may only talk to its own origin (CSP connect-src 'self'), and the simulator's
control API listens on another port; so the agent relays a fixed list of actions to it:

POST /development/simulator/{action}   plug | unplug | ev | rfid | fault | grid | breaker |
                                       input, with a small JSON body (see openapi.json)
GET  /development/simulator            the simulated hardware (GET /sim)

Registered in developer mode only (production: 404), and a developer token is needed.
The simulator checks every value itself; its 400/404/409 answers come back as they are.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from aiohttp import web

from ncpa.api.errors import ApiError, bad_param
from ncpa.api.page_services import page
from ncpa.api.params import json_body
from ncpa.api.routes import Route, ok

INPUTS = ("tariff", "rcd_fault")
TIMEOUT = aiohttp.ClientTimeout(total=5)


def _connector(body: dict[str, Any]) -> int:
    cid = body.pop("connectorId", 1)
    if isinstance(cid, bool) or not isinstance(cid, int) or not 1 <= cid <= 64:
        raise bad_param("connectorId", "a connector id (1..64)")
    return cid


def _target(action: str, body: dict[str, Any]) -> str:
    """The simulator path for an action; what remains in `body` is sent along."""
    if action in ("plug", "unplug", "ev"):
        return f"/sim/connectors/{_connector(body)}/{action}"
    if action in ("rfid", "grid", "breaker"):
        return f"/sim/{action}"
    if action == "fault":
        return "/sim/faults"
    if action == "input":
        name = body.pop("name", None)
        if name not in INPUTS:
            raise bad_param("name", f"one of {', '.join(INPUTS)}")
        return f"/sim/inputs/{name}"
    raise ApiError(404, f"no simulator action {action!r}")


async def _relay(request: web.Request, method: str, path: str, body: Any = None) -> Any:
    base = page(request).simulator_url
    if base is None:
        raise ApiError(503, "no simulator attached to this agent")
    try:
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as session,
            session.request(method, base + path, json=body) as r,
        ):
            text = await r.text()
    except (aiohttp.ClientError, TimeoutError) as e:
        raise ApiError(503, f"simulator not reachable ({type(e).__name__})") from e
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if r.status >= 400:
        message = data.get("message") if isinstance(data, dict) else None
        status = r.status if r.status in (400, 404, 409) else 503
        raise ApiError(status, f"simulator: {message or r.reason}")
    if data is None:
        raise ApiError(503, "simulator: the answer is not JSON")
    return data


async def post_action(request: web.Request) -> web.Response:
    action = request.match_info["action"]
    body = {} if request.content_length == 0 else await json_body(request, "body", 4096)
    if not isinstance(body, dict):
        raise bad_param("body", "a JSON object")
    path = _target(action, body)
    return ok(await _relay(request, "POST", path, body))


async def get_simulator(request: web.Request) -> web.Response:
    return ok(await _relay(request, "GET", "/sim"))


ROUTES = [
    Route("GET", "/development/simulator", get_simulator, "developer", "optional"),
    Route("POST", "/development/simulator/{action}", post_action, "developer", "optional"),
]
