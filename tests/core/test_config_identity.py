"""The config file refuses what it does not know, and the charge point id is an OCPP identity.

Issue 13, items 20 and 21: a `[stations]` typo ran as NCPA-0001 with the API on 0.0.0.0; an
id over 32 bytes stopped the start on a hotspot setting the user never set; `#`, `?` and a
space in the id broke the OCPP connection later, silently.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from hal.hotspot import check_credentials
from ncpa import config
from ncpa.config import KNOWN_SECTIONS, ConfigError
from ncpa.hotspot_service import parse_hotspot_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ncpa.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[stations]\nid = "CP-1"', "[stations]: unknown section"),
        ("foo = 1", "foo: unknown setting"),
        ('[api]\nport = 9443\n[Station]\nid = "x"', "[Station]: unknown section"),
        ("[[connectors]]\nid = 1", "[connectors]: unknown section"),
    ],
)
def test_unknown_sections_and_top_level_keys_are_refused(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        config.load(write(tmp_path, text))
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_every_section_a_component_reads_is_known(tmp_path: Path) -> None:
    """The sections the components parse from Config.raw (hardware, local_api, energy, ...)
    load without complaint; each is then checked by its component."""
    for section in KNOWN_SECTIONS:
        config.load(write(tmp_path, f"[{section}]\n"))
    text = (Path(__file__).parents[2] / "docs" / "ncpa.example.toml").read_text()
    config.load(write(tmp_path, text))


@pytest.mark.parametrize(
    "bad_id",
    [
        "CP 1",  # was: endless retries
        " CP-1",
        "Ladesäule",  # not ASCII
        "CP\t1",
        "A" * 49,
        "a/b",
        "",
    ],
)
def test_the_charge_point_id_must_be_an_ocpp_identity(tmp_path: Path, bad_id: str) -> None:
    with pytest.raises(ConfigError, match=re.escape("station.id")):
        config.load(write(tmp_path, f'[station]\nid = "{bad_id}"'))
    with pytest.raises(ConfigError, match=re.escape("station.id")):
        config.load(None, {"id": bad_id})


# "#" and "?" are printable: the OCPP client percent-encodes the id in the URL
@pytest.mark.parametrize(
    "good_id", ["NCPA-0001", "A" * 48, "cp.1_2*3=4:5+6|7@8", "EVB-P2148*01", "CP#1", "CP?x=1"]
)
def test_identities_up_to_48_characters_are_accepted(tmp_path: Path, good_id: str) -> None:
    assert config.load(None, {"id": good_id}).station.id == good_id


def test_a_long_id_gets_a_valid_default_ssid(tmp_path: Path) -> None:
    long_id = "EVSE-" + "9" * 43  # 48 characters: a valid identity, too long for an SSID
    cfg = config.load(None, {"id": long_id, "data_dir": tmp_path, "simulated": True})
    settings = parse_hotspot_settings(cfg)
    assert settings.enabled
    check_credentials(settings.ssid, settings.password)  # WPA2 accepts it
    assert settings.ssid == long_id[:32]
    # a short id is its own SSID, and an SSID the user sets is still checked as given
    short = parse_hotspot_settings(replace(cfg, station=replace(cfg.station, id="CP-1")))
    assert short.ssid == "CP-1"
    with pytest.raises(ConfigError, match=re.escape("hotspot.ssid")):
        parse_hotspot_settings(replace(cfg, raw={"hotspot": {"ssid": "x" * 33}}))
