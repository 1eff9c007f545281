"""Opening the websocket to the CSMS: URL, subprotocols, security profiles 1-3, ping/pong.

Profile 1: HTTP Basic (charge point id : AuthorizationKey) over ws://.
Profile 2: the same over wss://, the CSMS certificate checked against a pinned root only.
Profile 3: wss:// with the charge point's client certificate (no Basic auth).
"""

from __future__ import annotations

import base64
import ssl
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidStatus

from ncpa.log import get_logger

log = get_logger(__name__)

NAMES = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}


def subprotocols(version: str, auto_order: str = "2.0.1,1.6") -> list[str]:
    """What to offer: the one version asked for, or with `auto` both, in `auto_order`."""
    if version in NAMES:
        return [NAMES[version]]
    return [NAMES[v.strip()] for v in auto_order.split(",") if v.strip() in NAMES]


class ConnectError(Exception):
    """The connection could not be made; `reason` is short and loggable."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass
class Target:
    url: str
    subprotocols: list[str]
    security_profile: int = 0
    charge_point_id: str = ""
    authorization_key: str = ""
    ca_files: list[str] = field(default_factory=list)  # pinned CSMS roots
    client_cert: str = ""
    client_key: str = ""
    ping_interval: float | None = 60.0
    open_timeout: float = 10.0
    extra_headers: dict[str, str] = field(default_factory=dict)


def basic_auth_header(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return f"Basic {token}"


def ssl_context(target: Target) -> ssl.SSLContext | None:
    if target.security_profile < 2:
        return None
    # the CSMS root is pinned: the system store is not trusted for the CSMS
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if not target.ca_files:
        raise ssl.SSLError("no CSMS root certificate to pin")
    for ca in target.ca_files:
        ctx.load_verify_locations(cafile=ca)
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    if target.security_profile == 3:
        ctx.load_cert_chain(target.client_cert, target.client_key)
    return ctx


async def open_connection(target: Target) -> ClientConnection:
    """Connect and check the negotiated subprotocol; raises ConnectError."""
    if target.security_profile >= 2 and not target.url.startswith("wss://"):
        # never downgrade: a TLS profile with a ws:// URL is a configuration error
        raise ConnectError("security profile needs wss://")
    headers = dict(target.extra_headers)
    if target.security_profile in (1, 2):
        headers["Authorization"] = basic_auth_header(
            target.charge_point_id, target.authorization_key
        )
    try:
        ctx = ssl_context(target)
    except (OSError, ssl.SSLError) as e:
        raise ConnectError(f"TLS setup: {e}") from e
    ping = target.ping_interval if target.ping_interval else None
    try:
        ws = await connect(
            target.url,
            subprotocols=[s for s in target.subprotocols],  # type: ignore[misc]
            additional_headers=headers,
            ssl=ctx,
            ping_interval=ping,
            ping_timeout=ping,
            open_timeout=target.open_timeout,
            close_timeout=5,
            max_size=2**20 * 4,
        )
    except InvalidStatus as e:
        raise ConnectError(f"HTTP {e.response.status_code}", e.response.status_code) from e
    except (OSError, InvalidHandshake, TimeoutError, ssl.SSLError) as e:
        raise ConnectError(f"{type(e).__name__}: {e}") from e
    if ws.subprotocol is None:
        await ws.close()
        raise ConnectError("the CSMS picked no subprotocol")
    if ws.subprotocol not in target.subprotocols:
        await ws.close()
        raise ConnectError(f"the CSMS picked {ws.subprotocol!r}, which was not offered")
    return ws
