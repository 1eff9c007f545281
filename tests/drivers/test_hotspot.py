"""Hotspot backends: nmcli (run against a stand-in nmcli program) and simulated."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hal.drivers.nmcli_hotspot import NmcliHotspot
from hal.hotspot import Hotspot, HotspotError
from simulator.hotspot import SimHotspot

FAKE = Path(__file__).with_name("fake_nmcli.py")


@pytest.fixture
def nmcli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FAKE_NMCLI_STATE", str(tmp_path / "nm.json"))
    script = tmp_path / "nmcli"
    script.write_text(f'#!/bin/sh\nexec {sys.executable} {FAKE} "$@"\n')
    script.chmod(0o755)
    return script


async def test_nmcli_up_down(nmcli: Path, tmp_path: Path) -> None:
    hs = NmcliHotspot(interface="wlan0", nmcli=str(nmcli))
    assert isinstance(hs, Hotspot)
    assert not await hs.is_up()
    await hs.up("NCPA-0001", "s3cret-pass")
    assert await hs.is_up()
    log = (tmp_path / "nm.json.log").read_text()
    assert "802-11-wireless.mode ap" in log and "ipv4.method shared" in log
    assert "wifi-sec.psk s3cret-pass" in log
    await hs.up("NCPA-0001", "another-pass")  # new credentials: the profile is rebuilt
    await hs.down()
    assert not await hs.is_up()


async def test_nmcli_errors(nmcli: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hs = NmcliHotspot(nmcli=str(nmcli))
    with pytest.raises(ValueError, match="password"):
        await hs.up("x", "short")
    monkeypatch.setenv("FAKE_NMCLI_FAIL_UP", "1")
    with pytest.raises(HotspotError, match="No suitable device"):
        await hs.up("NCPA", "long-enough")
    with pytest.raises(HotspotError, match="cannot run"):
        await NmcliHotspot(nmcli="/nonexistent/nmcli").is_up()


async def test_simulated_hotspot() -> None:
    hs = SimHotspot()
    assert isinstance(hs, Hotspot)
    await hs.up("NCPA", "12345678")
    assert await hs.is_up() and hs.ssid == "NCPA"
    with pytest.raises(ValueError, match="ssid"):
        await hs.up("x" * 33, "12345678")
    await hs.down()
    assert not await hs.is_up()
