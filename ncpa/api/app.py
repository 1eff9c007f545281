"""The local API application: routes by resource, one auth middleware, JSON errors.

    app = create_app(station, settings, on_reboot=daemon.request_restart)
    server = ApiServer(station, settings, on_reboot=daemon.request_restart)
    await server.start(); ...; await server.stop()

Who may call what is declared with each route (`Route.role`); the middleware
checks the access token, the role and the clientId binding before a handler runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from ncpa.api import (
    routes_auth,
    routes_charging,
    routes_config,
    routes_development,
    routes_diagnostics,
    routes_live,
    routes_modes,
    routes_schedules,
    routes_simulator,
    routes_status,
    routes_upgrade,
    routes_web,
    routes_whitelist,
    routes_whitelist_edit,
)
from ncpa.api.charging_modes import ChargingModes, StoredChargingModes
from ncpa.api.energy_settings import EnergySettings, StoredEnergySettings
from ncpa.api.envelope import load_secret
from ncpa.api.errors import ApiError, error_response
from ncpa.api.listener import CappedSite
from ncpa.api.page_services import PAGE, PageOptions, PageServices
from ncpa.api.pairing import JtiRegistry, PairingPolicy, load_issuer_keys
from ncpa.api.ratelimit import RateLimiter
from ncpa.api.routes import CLAIMS, ROLE_RANK, STATE, ApiState, Route
from ncpa.api.settings import ApiSettings
from ncpa.api.tls import ensure_certificate, server_context
from ncpa.api.tokens import TokenError, TokenIssuer, load_or_create_device_key
from ncpa.charging.station import ChargingStation
from ncpa.config import ConfigError, os_reason
from ncpa.log import get_logger
from ncpa.updates.service import UpdateService

log = get_logger(__name__)

MAX_LINE = 128 * 1024
OPENAPI_FILE = Path(__file__).with_name("openapi.json")
ROUTES = web.AppKey("api_routes", dict)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def all_routes(developer_mode: bool) -> list[Route]:
    routes = [
        *routes_auth.ROUTES,
        *routes_config.ROUTES,
        *routes_whitelist.ROUTES,
        *routes_status.ROUTES,
        *routes_charging.ROUTES,
        *routes_schedules.ROUTES,
        *routes_upgrade.ROUTES,
        *routes_live.ROUTES,
        *routes_diagnostics.ROUTES,
        *routes_web.ROUTES,
        *routes_whitelist_edit.ROUTES,
        *routes_modes.ROUTES,
    ]
    if developer_mode:  # production: not registered at all, so every one of them is a 404
        routes += routes_development.ROUTES
        routes += routes_simulator.ROUTES
    return routes


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "authorization: expected 'Bearer <access token>'")
        return token.strip()
    return request.query.get("access_token") or None


def _authorize(request: web.Request, route: Route, state: ApiState) -> None:
    token = _bearer(request)
    if token is None:
        raise ApiError(
            401, "access token required (GET /auth first)", headers={"WWW-Authenticate": "Bearer"}
        )
    try:
        claims = state.tokens.verify(token)
    except TokenError as e:
        raise ApiError(401, str(e), headers={"WWW-Authenticate": "Bearer"}) from e
    rank = ROLE_RANK.get(claims.role, 0)
    if claims.role == "developer" and not state.settings.developer_mode:
        rank = 0  # a developer token minted in developer mode is nothing in production
    assert route.role is not None
    if rank < ROLE_RANK[route.role]:
        raise ApiError(403, f"role {claims.role!r} may not call {route.path} ({route.role} needed)")
    client_ids = request.query.getall("clientId", [])
    if not client_ids and route.client_id == "required":
        raise ApiError(400, "clientId: required", "InvalidParameter")
    if client_ids and (len(client_ids) > 1 or client_ids[0] != claims.client_id):
        raise ApiError(403, "clientId does not match the access token")
    request[CLAIMS] = claims


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        route = request.app[ROUTES].get(request.match_info.route)
        if route is not None and route.role is not None:
            _authorize(request, route, request.app[STATE])
        return await handler(request)
    except ApiError as e:
        return error_response(e.status, e.message, e.code, e.headers)
    except web.HTTPException as e:
        if e.status < 400:
            raise  # redirects pass through
        headers = {"Allow": e.headers["Allow"]} if "Allow" in e.headers else None
        message = (
            e.text if e.status not in (404, 405) else f"{request.method} {request.path}: {e.reason}"
        )
        return error_response(e.status, message or e.reason, headers=headers)
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("api.error", path=request.path, method=request.method)
        return error_response(500, "internal error (logged on the charger)")


async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=request.app[STATE].openapi, content_type="application/json")


def _pairing_policy(settings: ApiSettings) -> PairingPolicy | None:
    """None when the keys are missing: the API runs, /auth answers 503."""
    try:
        keys = load_issuer_keys(settings.issuer_key_paths())
        secret = load_secret(settings.shared_secret_path().read_text())
    except (OSError, ValueError) as e:
        log.error("api.pairing_disabled", error=str(e))
        return None
    return PairingPolicy(
        charge_point_id=settings.charge_point_id,
        secret=secret,
        issuer_keys=keys,
        issuers=settings.issuer,
        roles=settings.roles,
    )


def create_app(
    station: ChargingStation,
    settings: ApiSettings,
    *,
    on_reboot: Callable[[], None],
    energy: EnergySettings | None = None,
    hotspot: Callable[[], dict[str, Any]] | None = None,
    page: PageOptions | None = None,
    modes: ChargingModes | None = None,
) -> web.Application:
    # uploads are streamed; every other body is small
    app = web.Application(middlewares=[middleware], client_max_size=256 * 1024)
    state = ApiState(
        station=station,
        settings=settings,
        on_reboot=on_reboot,
        tokens=TokenIssuer(
            load_or_create_device_key(settings.api_dir),
            settings.charge_point_id,
            settings.token_ttl,
        ),
        pairing=_pairing_policy(settings),
        jtis=JtiRegistry(station.store),
        auth_limiter=RateLimiter(settings.auth_attempts, settings.auth_window),
        energy=energy or StoredEnergySettings(station.store),
        updates=UpdateService(
            settings.data_dir, settings.vendor_key_path(), settings.health_timeout
        ),
        openapi=OPENAPI_FILE.read_bytes(),
        hotspot=hotspot,
        modes=modes or StoredChargingModes(station.store),
    )
    app[STATE] = state
    services = PageServices.create(station, page)
    app[PAGE] = services
    app[routes_web.FILES] = routes_web.load_static()
    table: dict[Any, Route] = {}
    for r in all_routes(settings.developer_mode):
        table[app.router.add_route(r.method, r.path, r.handler)] = r
    app.router.add_get("/openapi.json", openapi)
    app[ROUTES] = table

    async def on_startup(_: web.Application) -> None:
        await state.jtis.migrate()
        services.start()
        if isinstance(state.modes, StoredChargingModes):
            await state.modes.load()

    async def on_cleanup(_: web.Application) -> None:
        services.stop()
        await state.close()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app


@dataclass
class ApiServer:
    """The API on [api] host:port: HTTPS with the device certificate, or plain HTTP on loopback."""

    station: ChargingStation
    settings: ApiSettings
    on_reboot: Callable[[], None]
    energy: EnergySettings | None = None
    hotspot: Callable[[], dict[str, Any]] | None = None
    page: PageOptions | None = None
    modes: ChargingModes | None = None
    port: int = 0
    _runner: web.AppRunner | None = field(default=None, init=False)

    async def start(self) -> None:
        s = self.settings
        if not s.use_tls and not s.loopback:
            raise ValueError(f"api: plain HTTP on {s.host} refused; only loopback may skip TLS")
        ctx: ssl.SSLContext | None = None
        if s.use_tls:
            if s.tls_cert:
                cert, key = Path(s.tls_cert), Path(s.tls_key)
            else:
                cert, key = await asyncio.to_thread(
                    ensure_certificate, s.api_dir, s.charge_point_id, s.tls_names
                )
            ctx = server_context(cert, key)
        app = create_app(
            self.station,
            s,
            on_reboot=self.on_reboot,
            energy=self.energy,
            hotspot=self.hotspot,
            page=self.page,
            modes=self.modes,
        )
        self._runner = web.AppRunner(
            app,
            access_log=None,
            shutdown_timeout=2.0,
            # a QR token rides in the query: room for it, so that our own checks answer (JSON)
            max_line_size=MAX_LINE,
            max_field_size=MAX_LINE,
            # from the connection's start too: also the deadline for the first headers
            keepalive_timeout=s.idle_timeout,
        )
        await self._runner.setup()
        site = CappedSite(
            self._runner, s.host, s.port, ssl_context=ctx, limits=s.connection_limits()
        )
        try:
            await site.start()
        except OSError as e:  # port in use, address not here: one line, exit code 2
            await self.stop()
            raise ConfigError(
                f"api.port {s.port}: cannot listen on {s.host} ({os_reason(e)})"
            ) from e
        self.port = s.port
        for addr in self._runner.addresses:
            self.port = int(addr[1])
        log.info("api.listening", host=s.host, port=self.port, tls=ctx is not None)

    async def stop(self) -> None:
        if self._runner is not None:
            with contextlib.suppress(Exception):
                await self._runner.cleanup()
            self._runner = None
