"""/config/charging-mode: FAST, SOLAR or SOLAR_MIN (docs/home.md), and what it does now.

The owner chooses it (role operator, as the authentication mode); it persists in the
store like the other run-time settings, and the energy component applies it at once.
"""

from __future__ import annotations

from aiohttp import web

from ncpa.api.charging_modes import ChargingModes
from ncpa.api.params import query_enum
from ncpa.api.routes import Route, ok, state
from ncpa.energy.settings import CHARGING_MODES
from ncpa.log import get_logger

log = get_logger(__name__)


def _modes(request: web.Request) -> ChargingModes:
    modes = state(request).modes
    assert modes is not None  # create_app sets one
    return modes


async def get_charging_mode(request: web.Request) -> web.Response:
    return ok(_modes(request).explain())


async def post_charging_mode(request: web.Request) -> web.Response:
    modes = _modes(request)
    mode = query_enum(request, "chargingMode", CHARGING_MODES)  # checked: set_mode accepts it
    await modes.set_mode(mode)
    log.info("api.charging_mode", mode=mode)
    return ok(modes.explain())


ROUTES = [
    Route("GET", "/config/charging-mode", get_charging_mode, "operator"),
    Route("POST", "/config/charging-mode", post_charging_mode, "operator"),
]
