"""Settings of the local API: `[api]` (host, port) and the `[local_api]` section.

```toml
[local_api]
tls = "auto"             # auto: HTTPS unless bound to loopback | on | off (loopback only)
tls_cert = ""            # empty: device certificate made in <data_dir>/api/
tls_key = ""
tls_names = []          # extra SANs (hotspot address, mDNS name)
keys_dir = ""            # pinned keys; empty: /etc/ncpa/keys, or certs/dev in developer mode
issuer = ["TNM Auth server"]
issuer_keys = []         # PEM paths; empty: keys_dir/qr-issuer.pem (+ qr-issuer-next.pem)
shared_secret_file = ""  # empty: keys_dir/qr-shared-secret
vendor_key = ""          # empty: keys_dir/vendor-signing.pem
token_ttl = 900          # seconds an access token lives
auth_attempts = 10       # per client per auth_window seconds
auth_window = 60
max_upload_mb = 64
learn_timeout = 30       # seconds GET /whitelist/card waits for a card
health_timeout = 120     # seconds a new release has to report healthy
max_connections = 64     # open at once; at the cap the oldest TLS handshake makes room
handshake_timeout = 10   # seconds from connect to the end of the TLS handshake
idle_timeout = 15        # seconds a connection may wait for (the headers of) a request
confirm_after = 30       # seconds a new release must run before it counts as healthy
```
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ncpa.api.listener import ConnectionLimits
from ncpa.config import Config, ConfigError

SECTION = "local_api"
_CHECKOUT = Path(__file__).resolve().parent.parent.parent
# development keys exist only in a checkout (`make certs`); an installed wheel has none and
# never looks for keys inside its own code: developer mode there uses the production place
DEV_KEYS = _CHECKOUT / "certs" / "dev"
IN_CHECKOUT = (_CHECKOUT / "pyproject.toml").is_file()
PROD_KEYS = Path("/etc/ncpa/keys")


@dataclass(frozen=True)
class ApiSettings:
    charge_point_id: str = "NCPA-0001"
    data_dir: Path = Path("/var/lib/ncpa")
    host: str = "0.0.0.0"
    port: int = 8443
    developer_mode: bool = False
    tls: str = "auto"
    tls_cert: str = ""
    tls_key: str = ""
    tls_names: tuple[str, ...] = ()
    keys_dir: str = ""
    issuer: tuple[str, ...] = ("TNM Auth server",)
    issuer_keys: tuple[str, ...] = ()
    shared_secret_file: str = ""
    vendor_key: str = ""
    token_ttl: float = 900.0
    auth_attempts: int = 10
    auth_window: float = 60.0
    max_upload_mb: float = 64.0
    learn_timeout: float = 30.0
    health_timeout: float = 120.0
    max_connections: int = 64
    handshake_timeout: float = 10.0
    idle_timeout: float = 15.0
    confirm_after: float = 30.0
    firmware_version: str = field(default="")

    # -- derived ------------------------------------------------------------

    @property
    def api_dir(self) -> Path:
        return self.data_dir / "api"

    @property
    def keys_path(self) -> Path:
        if self.keys_dir:
            return Path(self.keys_dir)
        return DEV_KEYS if self.developer_mode and IN_CHECKOUT else PROD_KEYS

    def issuer_key_paths(self) -> list[Path]:
        if self.issuer_keys:
            return [Path(p) for p in self.issuer_keys]
        # the next key is pinned ahead of a rotation, so both are accepted during it
        candidates = [self.keys_path / "qr-issuer.pem", self.keys_path / "qr-issuer-next.pem"]
        return [p for p in candidates if p.exists()] or candidates[:1]

    def shared_secret_path(self) -> Path:
        return Path(self.shared_secret_file or self.keys_path / "qr-shared-secret")

    def vendor_key_path(self) -> Path:
        return Path(self.vendor_key or self.keys_path / "vendor-signing.pem")

    @property
    def roles(self) -> tuple[str, ...]:
        base = ("operator", "installer")
        return (*base, "developer") if self.developer_mode else base

    def connection_limits(self) -> ConnectionLimits:
        return ConnectionLimits(self.max_connections, self.handshake_timeout, self.idle_timeout)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def use_tls(self) -> bool:
        return self.tls == "on" or (self.tls == "auto" and not self.loopback)


def _coerce(name: str, default: Any, value: Any) -> Any:
    where = f"{SECTION}.{name}"
    if isinstance(default, tuple):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: expected a list of strings")
        return tuple(value)
    if (
        isinstance(default, float)
        and isinstance(value, int | float)
        and not isinstance(value, bool)
    ):
        return float(value)
    if type(value) is not type(default):
        raise ConfigError(f"{where}: expected {type(default).__name__}, got {value!r}")
    return value


def from_config(cfg: Config, firmware_version: str = "") -> ApiSettings:
    raw = cfg.raw.get(SECTION, {})
    if not isinstance(raw, dict):
        raise ConfigError(f"[{SECTION}] must be a table")
    fixed = {"charge_point_id", "data_dir", "host", "port", "developer_mode", "firmware_version"}
    defaults = ApiSettings()
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in fixed or key not in {f.name for f in fields(ApiSettings)}:
            raise ConfigError(f"{SECTION}.{key}: unknown setting")
        values[key] = _coerce(key, getattr(defaults, key), value)
    settings = ApiSettings(
        charge_point_id=cfg.station.id,
        data_dir=cfg.data_dir,
        host=cfg.api.host,
        port=cfg.api.port,
        developer_mode=cfg.developer_mode,
        firmware_version=firmware_version,
        **values,
    )
    check(settings)
    return settings


def check(s: ApiSettings) -> None:
    def need(ok: bool, msg: str) -> None:
        if not ok:
            raise ConfigError(f"{SECTION}.{msg}")

    need(s.tls in ("auto", "on", "off"), "tls: auto, on or off")
    need(s.use_tls or s.loopback, "tls: plain HTTP is only allowed on a loopback host")
    need(bool(s.tls_cert) == bool(s.tls_key), "tls_cert/tls_key: give both or neither")
    need(bool(s.issuer), "issuer: at least one issuer name")
    need(len(s.issuer_keys) <= 4, "issuer_keys: at most 4 pinned keys")
    need(30 <= s.token_ttl <= 86400, "token_ttl: 30..86400 seconds")
    need(s.auth_attempts >= 1, "auth_attempts: at least 1")
    need(s.auth_window > 0, "auth_window: must be > 0")
    need(0 < s.max_upload_mb <= 1024, "max_upload_mb: 0..1024")
    need(1 <= s.learn_timeout <= 300, "learn_timeout: 1..300 seconds")
    need(10 <= s.health_timeout <= 3600, "health_timeout: 10..3600 seconds")
    # below the process's 1,024 file handles, with room for the store, serial ports, OCPP
    need(1 <= s.max_connections <= 512, "max_connections: 1..512")
    need(0.5 <= s.handshake_timeout <= 120, "handshake_timeout: 0.5..120 seconds")
    need(0.5 <= s.idle_timeout <= 3600, "idle_timeout: 0.5..3600 seconds")
    need(
        0.5 <= s.confirm_after < s.health_timeout,
        "confirm_after: 0.5 seconds or more, and less than health_timeout",
    )
