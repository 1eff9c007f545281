"""The OCPP client's own settings from the config file (`[ocpp]` beyond csms_url/version).

```toml
[ocpp]
csms_url = "wss://csms.example.com/ocpp"
version = "1.6"
security_profile = 2            # 0 none, 1 basic auth, 2 TLS + basic auth, 3 mutual TLS
authorization_key = "..."       # basic auth password (profiles 1, 2), 16..40 characters
ca_file = "/etc/ncpa/csms-root.pem"     # pinned CSMS root (profiles 2, 3)
client_cert = "/etc/ncpa/cp.pem"        # charge point certificate (profile 3)
client_key = "/etc/ncpa/cp.key"
call_timeout = 30               # seconds to wait for a CallResult
backoff_min = 2                 # reconnect delay, doubled each failure, with jitter
backoff_max = 300
outbox_max_rows = 200000        # queued transaction messages before meter values are thinned
auto_order = "2.0.1,1.6"        # version "auto" offers both, the server picks (first preferred)
shutdown_drain = 10             # seconds a Reset or a stop waits for StopTransaction answers
frame_trace = false             # log every OCPP frame, secrets redacted (also via the local API)
```
`csms_url` may hold `{id}` where the charge point id goes (percent-encoded), for central
systems that want it elsewhere than at the end or with a trailing slash
(`wss://csms.example.com/ocpp/{id}/`); without `{id}` the id is appended after a `/`.
Until ncpa/config.py lets these keys through `[ocpp]`, they can be given in a table
`[ocpp_client]` of their own (same names).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ncpa.config import Config, ConfigError

_CORE_KEYS = ("csms_url", "version")


@dataclass(frozen=True)
class OcppOptions:
    csms_url: str
    charge_point_id: str
    version: str = "1.6"
    security_profile: int = 0
    authorization_key: str = ""
    ca_file: str = ""
    client_cert: str = ""
    client_key: str = ""
    call_timeout: float = 30.0
    backoff_min: float = 2.0
    backoff_max: float = 300.0
    boot_retry: float = 60.0  # Boot retry when the CSMS gives interval 0
    outbox_max_rows: int = 200_000
    frame_trace: bool = False
    shutdown_drain: float = 10.0
    auto_order: str = "2.0.1,1.6"  # what `version = "auto"` offers, first preferred
    data_dir: Path = Path("/var/lib/ncpa")

    @property
    def url(self) -> str:
        return csms_url(self.csms_url, self.charge_point_id)


def csms_url(template: str, charge_point_id: str) -> str:
    """The websocket URL: `{id}` replaced by the percent-encoded id, else id appended."""
    encoded = quote(charge_point_id, safe="")
    if "{id}" in template:
        return template.replace("{id}", encoded)
    return template.rstrip("/") + "/" + encoded


def parse_options(config: Config) -> OcppOptions:
    """Read `[ocpp]`; unknown keys or wrong types raise ConfigError naming the key."""
    raw: dict[str, Any] = {}
    for section in ("ocpp", "ocpp_client"):
        table = config.raw.get(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"[{section}] must be a table")
        raw.update(table)
    known = {f.name: f for f in fields(OcppOptions)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _CORE_KEYS:
            continue
        if key not in known or key in ("charge_point_id", "data_dir"):
            raise ConfigError(f"ocpp.{key}: unknown setting")
        default = getattr(OcppOptions("", ""), key)
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not type(default):
            raise ConfigError(f"ocpp.{key}: expected {type(default).__name__}, got {value!r}")
        values[key] = value
    version = config.ocpp.version
    opts = OcppOptions(
        csms_url=config.ocpp.csms_url,
        charge_point_id=config.station.id,
        version=version,
        data_dir=config.data_dir,
        **values,
    )
    leftover = opts.csms_url.replace("{id}", "")
    if "{" in leftover or "}" in leftover:
        raise ConfigError("ocpp.csms_url: the only placeholder is {id}")
    if not 0 <= opts.security_profile <= 3:
        raise ConfigError("ocpp.security_profile: must be 0..3")
    if opts.security_profile in (1, 2) and ":" in opts.charge_point_id:
        # the id is the Basic auth user name (RFC 7617: no colon in it)
        raise ConfigError("station.id: ':' is not allowed with security profiles 1 and 2")
    if opts.security_profile in (1, 2) and not opts.authorization_key:
        raise ConfigError("ocpp.authorization_key: required by security profiles 1 and 2")
    if opts.security_profile >= 2 and not opts.csms_url.startswith("wss://"):
        raise ConfigError("ocpp.csms_url: security profiles 2 and 3 need wss://")
    if opts.security_profile >= 2 and not opts.ca_file:
        raise ConfigError("ocpp.ca_file: required by security profiles 2 and 3")
    if opts.security_profile == 3 and not (opts.client_cert and opts.client_key):
        raise ConfigError("ocpp.client_cert/client_key: required by security profile 3")
    order = [v.strip() for v in opts.auto_order.split(",")]
    if sorted(order) != ["1.6", "2.0.1"]:
        raise ConfigError('ocpp.auto_order: "2.0.1,1.6" or "1.6,2.0.1"')
    if opts.shutdown_drain < 0:
        raise ConfigError("ocpp.shutdown_drain: must be >= 0")
    if opts.call_timeout <= 0 or opts.backoff_min <= 0 or opts.backoff_max < opts.backoff_min:
        raise ConfigError("ocpp: call_timeout, backoff_min > 0 and backoff_max >= backoff_min")
    return opts
