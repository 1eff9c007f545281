"""The `[mqtt]` section: broker, credentials, TLS, topics. Checked before anything starts.

[mqtt]
host = "192.168.1.10"       # empty (the default): MQTT off
port = 1883                 # 8883 for TLS, by convention
username = "ncpa"
password_file = "/etc/ncpa/mqtt-password"   # or password = "..."
tls = true                  # ca_file: the broker's CA (default: the system's)
protocol = "5"              # "3.1.1" or "5"
topic_prefix = "ncpa/NCPA-0001"             # default: ncpa/<station id>
discovery_prefix = "homeassistant"          # "" : no Home Assistant discovery
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ncpa.config import Config, ConfigError, _section

PROTOCOLS = ("3.1.1", "5")
TOPIC_FORBIDDEN = ("+", "#", "\0")


@dataclass(frozen=True)
class MqttSettings:
    host: str = ""  # empty: MQTT is off
    port: int = 1883
    username: str = ""
    password: str = ""
    password_file: str = ""  # wins over password (keeps the secret out of the config)
    tls: bool = False
    ca_file: str = ""  # "" with tls: the system's CA store
    cert_file: str = ""  # client certificate (brokers that ask for one)
    key_file: str = ""
    tls_insecure: bool = False  # do not check the broker's host name (a self-signed IP)
    protocol: str = "3.1.1"
    client_id: str = ""  # default: ncpa-<station id>
    topic_prefix: str = ""  # default: ncpa/<station id>
    discovery_prefix: str = "homeassistant"  # "": no discovery messages
    keepalive: int = 30  # seconds; the broker publishes the last will after 1.5x this
    backoff_min_s: float = 1.0
    backoff_max_s: float = 60.0
    meter_interval_s: float = 10.0  # drawn current, power and energy at most this often
    id_tag: str = "MQTT"  # the id tag of a session started over MQTT
    queue_limit: int = 1000  # result messages waiting for the broker; older ones dropped

    @property
    def enabled(self) -> bool:
        return bool(self.host)


def parse_mqtt_settings(config: Config) -> MqttSettings:
    """Read `[mqtt]` from Config.raw. Raises ConfigError naming the bad setting."""
    # the same typed-table check as the core's sections
    s: MqttSettings = _section(MqttSettings, config.raw, "mqtt")
    station_id = config.station.id
    if not s.topic_prefix:
        s = _replace(s, topic_prefix=f"ncpa/{station_id}")
    if not s.client_id:
        s = _replace(s, client_id=f"ncpa-{station_id}")
    _check(s)
    if s.password_file:
        try:
            secret = Path(s.password_file).read_text().strip()
        except OSError as e:
            raise ConfigError(f"mqtt.password_file: {e}") from e
        s = _replace(s, password=secret)
    return s


def _replace(s: MqttSettings, **changes: Any) -> MqttSettings:
    from dataclasses import replace

    return replace(s, **changes)


def _check(s: MqttSettings) -> None:
    def need(ok: bool, msg: str) -> None:
        if not ok:
            raise ConfigError(f"mqtt.{msg}")

    need(0 < s.port < 65536, "port: must be 1..65535")
    need(s.protocol in PROTOCOLS, f"protocol: one of {', '.join(PROTOCOLS)}")
    for name in ("topic_prefix", "discovery_prefix"):
        value = getattr(s, name)
        need(
            not any(c in value for c in TOPIC_FORBIDDEN) and not value.startswith("/")
            and not value.endswith("/"),
            f"{name}: a topic without wildcards and without a leading or trailing '/'",
        )  # fmt: skip
    need(bool(s.topic_prefix), "topic_prefix: must not be empty")
    need(5 <= s.keepalive <= 3600, "keepalive: must be 5..3600 s")
    need(0 < s.backoff_min_s <= s.backoff_max_s, "backoff_min_s: > 0 and <= backoff_max_s")
    need(s.meter_interval_s > 0, "meter_interval_s: must be > 0")
    need(1 <= s.queue_limit <= 100_000, "queue_limit: must be 1..100000")
    need(bool(s.key_file) == bool(s.cert_file), "cert_file: and key_file go together")
    need(not (s.ca_file or s.cert_file) or s.tls, "ca_file: needs tls = true")
    for name in ("ca_file", "cert_file", "key_file"):
        path = getattr(s, name)
        need(not path or Path(path).is_file(), f"{name}: {path} is not a file")
    if s.username == "" and (s.password or s.password_file):
        raise ConfigError("mqtt.password: needs a username")


def csms_state(connected: asyncio.Event | None) -> Callable[[], str]:
    """The CSMS link as the station document shows it: connected | disconnected | offline
    (no CSMS configured)."""
    if connected is None:
        return lambda: "offline"
    return lambda: "connected" if connected.is_set() else "disconnected"
