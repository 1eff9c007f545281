"""The hotspot service: brings the access point up, reports it, retries after a failure."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from pathlib import Path

import pytest

from hal.hotspot import HotspotError
from ncpa import hotspot_service
from ncpa.config import ConfigError
from ncpa.hotspot_service import HotspotService, parse_hotspot_settings
from simulator.hotspot import SimHotspot
from tests.helpers import make_config


class FlakyHotspot(SimHotspot):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def up(self, ssid: str, password: str) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise HotspotError("nmcli: no wifi device")
        await super().up(ssid, password)


def test_settings_default_to_the_charge_point_id_in_developer_mode(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    s = parse_hotspot_settings(cfg)
    assert s.enabled and s.ssid == cfg.station.id and len(s.password) >= 8


@pytest.mark.parametrize(
    ("section", "names"),
    [
        ({"password": "short"}, "hotspot.password"),
        ({"ssid": ""}, "hotspot.ssid"),
        ({"enabled": "yes"}, "hotspot.enabled"),
        ({"channel": 6}, "hotspot.channel"),
    ],
)
def test_bad_settings_name_the_setting(
    tmp_path: Path, section: dict[str, object], names: str
) -> None:
    cfg = replace(make_config(tmp_path), raw={"hotspot": section})
    with pytest.raises(ConfigError, match=re.escape(names)):
        parse_hotspot_settings(cfg)


def test_production_without_a_password_runs_without_hotspot(tmp_path: Path) -> None:
    cfg = replace(make_config(tmp_path), developer_mode=False, raw={})
    assert not parse_hotspot_settings(cfg).enabled
    cfg = replace(cfg, raw={"hotspot": {"password": ""}})  # given, but wrong
    with pytest.raises(ConfigError, match=re.escape("hotspot.password")):
        parse_hotspot_settings(cfg)


async def test_service_brings_it_up_and_retries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hotspot_service, "CHECK_INTERVAL_S", 0.01)
    backend = FlakyHotspot(failures=2)
    service = HotspotService(backend, parse_hotspot_settings(make_config(tmp_path)))
    await service.start()
    try:
        for _ in range(500):
            if service.up:
                break
            await asyncio.sleep(0.01)
        assert service.status() == {"ssid": "NCPA-0001", "up": True}
        assert backend.ssid == "NCPA-0001"
        await backend.down()  # someone took it down: it comes back
        for _ in range(500):
            if await backend.is_up():
                break
            await asyncio.sleep(0.01)
        assert await backend.is_up()
    finally:
        await service.stop()
