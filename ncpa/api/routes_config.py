"""Settings of the charger: /authentication-mode, /config/*, /tests/shunt/activate.

Each setter acts at once (the station or the energy component applies it) and
answers the value now in force.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ncpa.api.energy_settings import (
    GRID_CURRENT_RANGE,
    GRID_MAX_RANGE,
    LOAD_SHEDDING_MODES,
    PEAK_MODES,
    GridReading,
)
from ncpa.api.errors import ApiError, bad_param
from ncpa.api.params import query_enum, query_float, query_floats
from ncpa.api.routes import Handler, Route, claims, no_content, ok, state
from ncpa.charging.states import AuthMode, LockMode
from ncpa.log import get_logger

log = get_logger(__name__)

AUTH_MODES = tuple(str(m) for m in AuthMode)
LOCK_MODES = tuple(str(m) for m in LockMode)
REBOOT_DELAY_S = 0.2  # lets the 204 reach the phone before the daemon goes down


def grid_json(reading: GridReading) -> dict[str, Any]:
    return {
        "currents": list(reading.currents),
        "source": reading.source,
        "timestamp": None if reading.timestamp is None else int(reading.timestamp),
    }


async def _setter(name: str, coro: Any) -> None:
    try:
        await coro
    except ValueError as e:  # the component's own check
        raise bad_param(name, str(e)) from e


async def get_auth_mode(request: web.Request) -> web.Response:
    return ok(state(request).station.auth_mode)


async def post_auth_mode(request: web.Request) -> web.Response:
    st = state(request)
    mode = query_enum(request, "authenticationMode", AUTH_MODES)
    await _setter("authenticationMode", st.station.set_auth_mode(mode))
    return ok(st.station.auth_mode)


async def get_lock_mode(request: web.Request) -> web.Response:
    return ok(str(state(request).station.lock_mode))


async def post_lock_mode(request: web.Request) -> web.Response:
    st = state(request)
    mode = query_enum(request, "socketLockMode", LOCK_MODES)
    await _setter("socketLockMode", st.station.set_lock_mode(mode))
    return ok(str(st.station.lock_mode))


def energy_setting(
    param: str, name: str, parse: Callable[[web.Request, str], Any]
) -> tuple[Handler, Handler]:
    """GET and POST handlers of one energy value: `energy.<name>()` / `set_<name>(value)`."""

    async def get(request: web.Request) -> web.Response:
        return ok(await getattr(state(request).energy, name)())

    async def post(request: web.Request) -> web.Response:
        energy = state(request).energy
        value = parse(request, param)
        await _setter(param, getattr(energy, f"set_{name}")(value))
        return ok(await getattr(energy, name)())

    return get, post


get_grid_max, post_grid_max = energy_setting(
    "maxCurrent", "grid_max_current", lambda r, p: query_float(r, p, *GRID_MAX_RANGE)
)
get_load_shedding, post_load_shedding = energy_setting(
    "loadShedding", "load_shedding", lambda r, p: query_enum(r, p, LOAD_SHEDDING_MODES)
)
get_on_off_peak, post_on_off_peak = energy_setting(
    "onOffPeak", "on_off_peak", lambda r, p: query_enum(r, p, PEAK_MODES)
)


async def get_station_max(request: web.Request) -> web.Response:
    return ok(state(request).station.station_max_current)


async def post_station_max(request: web.Request) -> web.Response:
    station = state(request).station
    hard = station.config.station.absolute_max_current
    amps = query_float(request, "chargeStationMaxCurrent", 0.0, hard)
    await _setter("chargeStationMaxCurrent", station.set_station_max_current(amps))
    return ok(station.station_max_current)


async def get_grid_currents(request: web.Request) -> web.Response:
    return ok(grid_json(await state(request).energy.grid_currents()))


async def post_grid_currents(request: web.Request) -> web.Response:
    energy = state(request).energy
    currents = query_floats(request, "gridCurrents", *GRID_CURRENT_RANGE, 1, 3)
    mode = await energy.load_shedding()
    if mode != "NO":
        raise ApiError(409, f"gridCurrents: measured by the {mode} meter; push only with NO")
    try:
        reading = await energy.push_grid_currents(currents)
    except ValueError as e:
        raise bad_param("gridCurrents", str(e)) from e
    return ok(grid_json(reading))


async def post_reboot(request: web.Request) -> web.Response:
    st = state(request)
    log.info("api.reboot", client=claims(request).client_id)
    await st.station.shutdown_sessions("Reboot")  # transactions closed before the restart
    asyncio.get_running_loop().call_later(REBOOT_DELAY_S, st.on_reboot)
    return no_content()


async def post_shunt(request: web.Request) -> web.Response:
    confirmed = await state(request).station.fire_shunt()
    log.warning("api.shunt_test", confirmed=confirmed)
    return ok(confirmed)


ROUTES = [
    Route("GET", "/authentication-mode", get_auth_mode, "operator"),
    Route("POST", "/authentication-mode", post_auth_mode, "operator"),
    Route("GET", "/config/socket-permanent-lock-mode", get_lock_mode, "installer"),
    Route("POST", "/config/socket-permanent-lock-mode", post_lock_mode, "installer"),
    Route("GET", "/config/grid-max-current", get_grid_max, "installer"),
    Route("POST", "/config/grid-max-current", post_grid_max, "installer"),
    Route("GET", "/config/load-shedding", get_load_shedding, "installer"),
    Route("POST", "/config/load-shedding", post_load_shedding, "installer"),
    Route("GET", "/config/charge-station-max-current", get_station_max, "installer"),
    Route("POST", "/config/charge-station-max-current", post_station_max, "installer"),
    Route("GET", "/config/on-off-peak", get_on_off_peak, "installer"),
    Route("POST", "/config/on-off-peak", post_on_off_peak, "installer"),
    Route("GET", "/config/grid-currents", get_grid_currents, "installer"),
    Route("POST", "/config/grid-currents", post_grid_currents, "installer"),
    Route("POST", "/config/reboot", post_reboot, "installer"),
    Route("POST", "/tests/shunt/activate", post_shunt, "installer"),
]
