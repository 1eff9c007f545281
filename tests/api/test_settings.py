"""[local_api] settings and the daemon's wiring of the API."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from ncpa import config
from ncpa.api.app import ApiServer
from ncpa.api.settings import DEV_KEYS, PROD_KEYS, ApiSettings, from_config
from ncpa.api.wiring import api_components
from ncpa.config import ConfigError
from ncpa.updates.health import UpdateHealth
from tests.api.conftest import Charger


def load(tmp_path: Path, text: str, sim: bool = True) -> config.Config:
    path = tmp_path / "ncpa.toml"
    path.write_text(text)
    return config.load(path, {"simulated": sim, "data_dir": tmp_path / "data"})


def test_defaults_follow_the_mode(tmp_path: Path) -> None:
    dev = from_config(load(tmp_path, ""))
    assert dev.keys_path == DEV_KEYS and dev.roles[-1] == "developer"
    assert dev.use_tls  # [api] host 0.0.0.0: HTTPS
    assert [p.name for p in dev.issuer_key_paths()] == ["qr-issuer.pem", "qr-issuer-next.pem"]
    prod = from_config(load(tmp_path, "", sim=False))
    assert prod.keys_path == PROD_KEYS and "developer" not in prod.roles
    assert prod.vendor_key_path() == PROD_KEYS / "vendor-signing.pem"


def test_section_values_and_errors(tmp_path: Path) -> None:
    s = from_config(
        load(
            tmp_path,
            '[api]\nhost = "127.0.0.1"\n[local_api]\ntls = "auto"\ntoken_ttl = 60\n'
            'issuer = "Other Auth"\ntls_names = ["10.42.0.1"]\nmax_upload_mb = 8\n',
        )
    )
    assert not s.use_tls and s.token_ttl == 60.0 and s.issuer == ("Other Auth",)
    assert s.tls_names == ("10.42.0.1",) and s.max_upload_bytes == 8 * 1024 * 1024
    for text, what in [
        ("[local_api]\nnope = 1\n", "nope"),
        ('[local_api]\ntoken_ttl = "x"\n', "token_ttl"),
        ("[local_api]\ntoken_ttl = 5\n", "token_ttl"),
        ('[local_api]\ntls = "off"\n', "loopback"),
        ('[local_api]\ntls = "maybe"\n', "tls"),
        ('[local_api]\ntls_cert = "/x.pem"\n', "tls_key"),
        ('[local_api]\nhost = "1.2.3.4"\n', "host"),
    ]:
        with pytest.raises(ConfigError, match=what):
            from_config(load(tmp_path, text))


async def test_plain_http_off_loopback_refused(charger: Charger, tmp_path: Path) -> None:
    settings = ApiSettings(data_dir=tmp_path, host="192.0.2.1", port=0, tls="off")
    with pytest.raises(ValueError, match="loopback"):
        await ApiServer(charger.station, settings, on_reboot=lambda: None).start()


async def test_api_components_as_the_daemon_starts_them(charger: Charger) -> None:
    cfg = charger.cfg
    cfg = replace(cfg, api=replace(cfg.api, host="127.0.0.1", port=0))
    restarts: list[int] = []
    comps = api_components(cfg, charger.station, on_reboot=lambda: restarts.append(1))
    assert isinstance(comps[0], UpdateHealth) and isinstance(comps[1], ApiServer)
    for c in comps:
        await c.start()
    try:
        server = comps[1]
        assert isinstance(server, ApiServer)
        async with (
            aiohttp.ClientSession() as s,
            s.get(f"http://127.0.0.1:{server.port}/openapi.json") as r,
        ):
            assert r.status == 200
    finally:
        for c in reversed(comps):
            await c.stop()
    assert not restarts
