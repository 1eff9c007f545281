"""The simulator's control API (developers, tests, external tooling). Loopback only.

GET  /sim                              full state of the simulated hardware
GET  /sim/agent                        what the agent makes of it (statuses, transactions)
POST /sim/connectors/{id}/plug         plug an EV in (optional body: soc, capacity_kwh,
                                       max_current, phases)
POST /sim/connectors/{id}/unplug       unplug it
POST /sim/connectors/{id}/ev           {"state": "B" | "C"}: the EV pauses / asks for energy
POST /sim/rfid                         {"uid": "..."}: present a card at the reader
POST /sim/faults                       {"kind": "...", "active": bool, "connector": 1}
POST /sim/breaker                      {"closed": true}: reset the breaker after a shunt trip
POST /sim/inputs/{name}                {"value": bool}: a digital input (e.g. tariff)
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ncpa.config import ConfigError, os_reason
from simulator.ev import EvModel
from simulator.plant import FaultKind, Plant

AgentView = Callable[[], Awaitable[dict[str, Any]]]
UID_RE = re.compile(r"^[0-9A-Za-z]{1,20}$")

PLANT = web.AppKey("plant", Plant)
AGENT = web.AppKey("agent", object)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


class BadRequest(Exception):
    pass


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = await request.json(loads=json.loads)
    except ValueError as e:
        raise BadRequest("body must be JSON") from e
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")
    return data


def _connector_id(request: web.Request) -> int:
    raw = request.match_info["cid"]
    if not raw.isdigit():
        raise BadRequest(f"connector id must be a number, got {raw!r}")
    return int(raw)


def _number(data: dict[str, Any], key: str, lo: float, hi: float, default: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise BadRequest(f"{key} must be a number in {lo:g}..{hi:g}")
    return float(value)


@web.middleware
async def _errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except BadRequest as e:
        return _error(400, "BadRequest", str(e))
    except KeyError as e:
        return _error(404, "NotFound", str(e.args[0]) if e.args else "not found")
    except ValueError as e:
        return _error(409, "Conflict", str(e))


async def get_state(request: web.Request) -> web.Response:
    return web.json_response(request.app[PLANT].snapshot())


async def get_agent(request: web.Request) -> web.Response:
    agent = request.app[AGENT]
    if agent is None:
        return _error(404, "NotFound", "no agent attached")
    view: AgentView = agent  # type: ignore[assignment]
    return web.json_response(await view())


async def plug(request: web.Request) -> web.Response:
    plant = request.app[PLANT]
    cid = _connector_id(request)
    data = await _body(request)
    d = plant.ev_defaults
    ev = EvModel(
        capacity_wh=_number(data, "capacity_kwh", 1, 300, d.capacity_wh / 1000) * 1000,
        soc=_number(data, "soc", 0, 1, d.soc),
        max_current_a=_number(data, "max_current", 6, 80, d.max_current_a),
        phases=int(_number(data, "phases", 1, 3, d.phases)),
    )
    plant.plug(cid, ev)
    return web.json_response(plant.snapshot())


async def unplug(request: web.Request) -> web.Response:
    plant = request.app[PLANT]
    plant.unplug(_connector_id(request))
    return web.json_response(plant.snapshot())


async def ev_state(request: web.Request) -> web.Response:
    plant = request.app[PLANT]
    cid = _connector_id(request)
    state = (await _body(request)).get("state")
    if state not in ("B", "C"):
        raise BadRequest('state must be "B" (pause) or "C" (ask for energy)')
    plant.set_ev_state(cid, state == "C")
    return web.json_response(plant.snapshot())


async def rfid(request: web.Request) -> web.Response:
    plant = request.app[PLANT]
    uid = (await _body(request)).get("uid")
    if not isinstance(uid, str) or not UID_RE.match(uid):
        raise BadRequest("uid must be 1..20 letters or digits")
    plant.present_card(uid.upper())
    return web.json_response(plant.snapshot())


async def faults(request: web.Request) -> web.Response:
    plant = request.app[PLANT]
    data = await _body(request)
    kinds = [str(k) for k in FaultKind]
    kind = data.get("kind")
    if kind not in kinds:
        raise BadRequest(f"kind must be one of {', '.join(kinds)}")
    active = data.get("active")
    if not isinstance(active, bool):
        raise BadRequest("active must be true or false")
    cid = data.get("connector", 1)
    if isinstance(cid, bool) or not isinstance(cid, int):
        raise BadRequest("connector must be a connector id")
    plant.set_fault(FaultKind(kind), active, cid)
    return web.json_response(plant.snapshot())


async def breaker(request: web.Request) -> web.Response:
    plant = request.app[PLANT]
    closed = (await _body(request)).get("closed")
    if not isinstance(closed, bool):
        raise BadRequest("closed must be true or false")
    plant.set_breaker(closed)
    return web.json_response(plant.snapshot())


async def set_input(request: web.Request) -> web.Response:
    plant = request.app[PLANT]
    value = (await _body(request)).get("value")
    if not isinstance(value, bool):
        raise BadRequest("value must be true or false")
    plant.set_input(request.match_info["name"], value)
    return web.json_response(plant.snapshot())


def create_app(plant: Plant, agent_view: AgentView | None = None) -> web.Application:
    app = web.Application(middlewares=[_errors])
    app[PLANT] = plant
    app[AGENT] = agent_view
    app.router.add_get("/sim", get_state)
    app.router.add_get("/sim/agent", get_agent)
    app.router.add_post("/sim/connectors/{cid}/plug", plug)
    app.router.add_post("/sim/connectors/{cid}/unplug", unplug)
    app.router.add_post("/sim/connectors/{cid}/ev", ev_state)
    app.router.add_post("/sim/rfid", rfid)
    app.router.add_post("/sim/faults", faults)
    app.router.add_post("/sim/breaker", breaker)
    app.router.add_post("/sim/inputs/{name}", set_input)
    return app


class ControlServer:
    """The control API on 127.0.0.1 only: it can plug EVs and fake cards."""

    def __init__(self, plant: Plant, port: int, agent_view: AgentView | None = None) -> None:
        self.app = create_app(plant, agent_view)
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        try:
            await site.start()
        except OSError as e:
            await self.stop()
            raise ConfigError(f"sim.port {self.port}: cannot listen ({os_reason(e)})") from e
        if self.port == 0:  # tests ask for any free port
            for addr in self._runner.addresses:
                self.port = int(addr[1])

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
