"""What the route modules share: the app state, the route declaration, small helpers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ncpa.api.charging_modes import ChargingModes
from ncpa.api.energy_settings import EnergySettings
from ncpa.api.pairing import JtiRegistry, PairingPolicy
from ncpa.api.ratelimit import RateLimiter
from ncpa.api.settings import ApiSettings
from ncpa.api.tokens import AccessClaims, TokenIssuer
from ncpa.charging.station import ChargingStation
from ncpa.updates.service import UpdateService

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# installer can do what operator can; developer (developer mode only) what installer can
ROLE_RANK = {"operator": 1, "installer": 2, "developer": 3}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    role: str | None  # None: public
    client_id: str = "required"  # required | optional (checked when given)


@dataclass
class ApiState:
    station: ChargingStation
    settings: ApiSettings
    on_reboot: Callable[[], None]
    tokens: TokenIssuer
    pairing: PairingPolicy | None
    jtis: JtiRegistry
    auth_limiter: RateLimiter
    energy: EnergySettings
    updates: UpdateService
    openapi: bytes
    # the charger's own Wi-Fi access point: {"ssid", "up"}, None when there is none
    hotspot: Callable[[], dict[str, Any]] | None = None
    # developer mode: the answer the next GET /whitelist/card gives instead of learning
    card_registration_override: dict[str, Any] | None = None
    # the charging mode (FAST | SOLAR | SOLAR_MIN); create_app sets a store-backed one
    modes: ChargingModes | None = None

    async def close(self) -> None:
        await self.updates.close()


STATE = web.AppKey("api_state", ApiState)
CLAIMS = web.RequestKey("ncpa_claims", AccessClaims)


def state(request: web.Request) -> ApiState:
    return request.app[STATE]


def claims(request: web.Request) -> AccessClaims:
    return request[CLAIMS]


def ok(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


def no_content() -> web.Response:
    return web.Response(status=204)
