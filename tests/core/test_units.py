"""Unit tests of the core's small parts: config, current limits, PWM policy, store.

Real files throughout: TOML files and SQLite databases in tmp_path.
"""

from __future__ import annotations

import math
import re
import sqlite3
from pathlib import Path

import pytest

from ncpa import config
from ncpa.charging.pwm_policy import PwmPolicy
from ncpa.config import ConfigError
from ncpa.energy.limits import CurrentLimits, Limit
from ncpa.store import DB_NAME, Store, WhitelistEntry, read_transactions

# -- config ------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ncpa.toml"
    path.write_text(text)
    return path


FULL = """
data_dir = "state"

[station]
id = "CP-FILE"
connectors = 2
phases = 1
absolute_max_current = 40

[charging]
authentication_mode = "PLUGNCHARGE"
meter_interval = 2

[ocpp]
csms_url = "ws://127.0.0.1:9000/ocpp"
version = "1.6"

[api]
port = 9443

[sim]
port = 9081

[log]
format = "json"
level = "debug"

[hardware]
meter = "modbus"
"""


def test_config_file_is_read_and_checked(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, FULL))
    assert cfg.station.id == "CP-FILE"
    assert cfg.station.connectors == 2 and cfg.station.phases == 1
    assert cfg.station.absolute_max_current == 40.0
    assert isinstance(cfg.charging.meter_interval, float)  # an int is accepted for a float
    assert cfg.charging.authentication_mode == "PLUGNCHARGE"
    assert cfg.ocpp.version == "1.6" and cfg.api.port == 9443 and cfg.sim.port == 9081
    assert cfg.log_format == "json" and cfg.log_level == "DEBUG"
    # a relative data_dir is relative to the file, not to where the agent was started
    assert cfg.data_dir == (tmp_path / "state").resolve()
    # component sections are left to their components
    assert cfg.raw["hardware"] == {"meter": "modbus"}
    assert not cfg.simulated and not cfg.developer_mode


def test_config_defaults_without_a_file() -> None:
    cfg = config.load(None)
    assert cfg.charging.authentication_mode == "WHITELIST"
    assert cfg.station.connectors == 1
    assert cfg.data_dir == Path("/var/lib/ncpa")
    assert cfg.ocpp.csms_url == ""  # offline


def test_config_flags_override_the_file(tmp_path: Path) -> None:
    cfg = config.load(
        write(tmp_path, FULL),
        {
            "data_dir": tmp_path / "elsewhere",
            "simulated": True,
            "id": "CP-FLAG",
            "csms_url": "wss://127.0.0.1/x",
            "ocpp_version": "2.0.1",
            "api_port": 1234,
            "sim_port": 4321,
        },
    )
    assert cfg.data_dir == tmp_path / "elsewhere"
    assert cfg.simulated and cfg.developer_mode  # the simulator brings developer mode
    assert cfg.station.id == "CP-FLAG"
    assert cfg.ocpp.csms_url == "wss://127.0.0.1/x" and cfg.ocpp.version == "2.0.1"
    assert cfg.api.port == 1234 and cfg.sim.port == 4321
    # what no flag names stays as in the file
    assert cfg.station.connectors == 2 and cfg.charging.authentication_mode == "PLUGNCHARGE"


def test_config_flags_left_unset_change_nothing(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, FULL), {"id": None, "api_port": None, "simulated": False})
    assert cfg.station.id == "CP-FILE" and cfg.api.port == 9443 and not cfg.simulated


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ('[station]\nid = ""', "station.id"),
        ('[station]\nid = "a/b"', "station.id"),
        ("[station]\nconnectors = 0", "station.connectors"),
        ("[station]\nconnectors = 9", "station.connectors"),
        ("[station]\nphases = 2", "station.phases"),
        ("[station]\nabsolute_max_current = 5", "station.absolute_max_current"),
        ("[station]\nabsolute_max_current = 81", "station.absolute_max_current"),
        ('[station]\nconnectors = "two"', "station.connectors"),
        ("[station]\nhas_lock = 1", "station.has_lock"),
        ("[station]\nconnectors = true", "station.connectors"),
        ('[station]\ncolour = "red"', "station.colour"),
        ("station = 3", "[station]"),
        ('[charging]\nauthentication_mode = "FREE"', "charging.authentication_mode"),
        ('[charging]\nlock_mode = "SOMETIMES"', "charging.lock_mode"),
        ('[charging]\nrecovery = "guess"', "charging.recovery"),
        ("[charging]\nstation_max_current = -1", "charging.station_max_current"),
        ("[charging]\nmeter_interval = 0", "charging.meter_interval"),
        ("[charging]\nmeter_timeout = 0", "charging.meter_timeout"),
        ("[charging]\ntick_interval = -0.5", "charging.tick_interval"),
        ("[charging]\nlock_timeout = 0", "charging.lock_timeout"),
        ("[charging]\nconnection_timeout = 0", "charging.connection_timeout"),
        ('[ocpp]\nversion = "1.5"', "ocpp.version"),
        ('[ocpp]\ncsms_url = "http://127.0.0.1"', "ocpp.csms_url"),
        ("[api]\nport = 0", "api.port"),
        ("[api]\nport = 70000", "api.port"),
        ("[sim]\nport = 0", "sim.port"),
        ('[log]\nformat = "xml"', "log.format"),
    ],
)
def test_config_errors_name_the_setting(tmp_path: Path, text: str, names: str) -> None:
    with pytest.raises(ConfigError) as err:
        config.load(write(tmp_path, text))
    assert names in str(err.value)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        # accepted, then the agent dies in logging.setLevel with "Unknown level"
        ('[log]\nlevel = "verbose"', "log.level"),
        # AttributeError instead of a ConfigError
        ("log = 3", "[log]"),
        # bool("no") is True: a string turns developer mode (dev routes and keys) on
        ('developer_mode = "no"', "developer_mode"),
        ("data_dir = 5", "data_dir"),
    ],
)
def test_config_errors_of_the_top_level(tmp_path: Path, text: str, names: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(names)):
        config.load(write(tmp_path, text))


@pytest.mark.parametrize(
    ("overrides", "names"),
    [
        ({"api_port": 0}, "api.port"),
        ({"sim_port": 65536}, "sim.port"),
        ({"ocpp_version": "3"}, "ocpp.version"),
        ({"csms_url": "127.0.0.1:9000"}, "ocpp.csms_url"),
        ({"id": ""}, "station.id"),
    ],
)
def test_bad_flags_name_the_setting(overrides: dict[str, object], names: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(names)):
        config.load(None, overrides)


def test_config_file_missing_or_broken_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"nope\.toml: not found"):
        config.load(missing)
    broken = write(tmp_path, "[station\nid = 1")
    with pytest.raises(ConfigError, match=r"ncpa\.toml"):
        config.load(broken)


# -- current limits --------------------------------------------------------------------


def test_limits_effective_is_the_minimum_and_names_the_winner() -> None:
    limits = CurrentLimits([1])
    assert limits.effective(1) == Limit(0.0, "none")  # no source: offer nothing
    limits.set("hardware", 32)
    limits.set("installer", 16)
    limits.set("grid", 20)
    assert limits.effective(1) == Limit(16.0, "installer")
    limits.set("grid", 10.5)
    assert limits.effective(1) == Limit(10.5, "grid")
    assert limits.get("grid") == 10.5
    assert limits.sources(1) == {"hardware": 32.0, "installer": 16.0, "grid": 10.5}


def test_limits_station_and_connector_sources() -> None:
    limits = CurrentLimits([1, 2])
    limits.set("hardware", 32)
    limits.set("csms", 8, connector_id=2)
    assert limits.effective(1) == Limit(32.0, "hardware")
    assert limits.effective(2) == Limit(8.0, "csms")
    # the same source station-wide and per connector: the lower one counts
    limits.set("csms", 6)
    assert limits.effective(1) == Limit(6.0, "csms")
    assert limits.sources(2)["csms"] == 6.0
    assert limits.get("csms", 2) == 8.0 and limits.get("csms") == 6.0


def test_limits_removal_hands_over_to_the_next_source() -> None:
    limits = CurrentLimits([1])
    limits.set("hardware", 32)
    limits.set("tariff", 6)
    limits.set("tariff", None)
    assert limits.effective(1) == Limit(32.0, "hardware")
    assert limits.get("tariff") is None
    limits.set("tariff", None)  # removing what is not there is fine
    limits.set("schedule", 0)  # zero is a limit (pause), not a removal
    assert limits.effective(1) == Limit(0.0, "schedule")


def test_limits_listeners_hear_each_change_once() -> None:
    limits = CurrentLimits([1, 2])
    heard: list[tuple[int, Limit]] = []
    limits.on_change(lambda cid, limit: heard.append((cid, limit)))
    limits.set("hardware", 32)
    assert heard == [(1, Limit(32.0, "hardware")), (2, Limit(32.0, "hardware"))]
    heard.clear()
    limits.set("installer", 40)  # above the winner: nothing changes
    assert heard == []
    limits.set("grid", 10, connector_id=2)
    assert heard == [(2, Limit(10.0, "grid"))]
    heard.clear()
    limits.set("grid", None, connector_id=2)
    assert heard == [(2, Limit(32.0, "hardware"))]


@pytest.mark.parametrize("bad", [-1.0, math.nan])
def test_limits_bad_value_is_refused_and_changes_nothing(bad: float) -> None:
    limits = CurrentLimits([1])
    limits.set("grid", 20)
    heard: list[tuple[int, Limit]] = []
    limits.on_change(lambda cid, limit: heard.append((cid, limit)))
    with pytest.raises(ValueError, match="grid"):
        limits.set("grid", bad)
    assert limits.get("grid") == 20.0 and heard == []


# -- PWM policy ------------------------------------------------------------------------


def test_pwm_off_to_on_is_at_once() -> None:
    pwm = PwmPolicy(min_interval_s=5.0)
    pwm.applied(0.0, now=100.0)
    assert pwm.decide(16.0, now=100.1) == (16.0, None)


def test_pwm_reductions_are_at_once() -> None:
    pwm = PwmPolicy(min_interval_s=5.0)
    pwm.applied(16.0, now=100.0)
    assert pwm.decide(10.0, now=100.01) == (10.0, None)
    pwm.applied(10.0, now=100.01)
    assert pwm.decide(0.0, now=100.02) == (0.0, None)  # off, too


def test_pwm_increases_wait_for_the_ev() -> None:
    pwm = PwmPolicy(min_interval_s=5.0)
    pwm.applied(10.0, now=100.0)
    assert pwm.decide(16.0, now=101.0) == (None, 105.0)  # ask again when due
    assert pwm.current_a == 10.0
    assert pwm.decide(16.0, now=105.0) == (16.0, None)
    pwm.applied(16.0, now=105.0)
    assert pwm.last_change == 105.0
    assert pwm.decide(16.0, now=105.5) == (None, None)  # nothing to do


def test_pwm_first_offer_is_at_once() -> None:
    assert PwmPolicy().decide(32.0, now=0.0) == (32.0, None)


# -- store -----------------------------------------------------------------------------


async def test_migrations_per_component_are_idempotent(tmp_path: Path) -> None:
    step1 = "CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT);"
    step2 = "ALTER TABLE things ADD COLUMN size INTEGER;"
    other = "CREATE TABLE things_other (id INTEGER PRIMARY KEY);"
    store = await Store.open(tmp_path)
    try:
        await store.migrate("things", [step1])
        await store.migrate("things", [step1])  # again: nothing to do, no error
        await store.migrate("things", [step1, step2])  # only the new step runs
        await store.migrate("other", [other])  # versions are per component
    finally:
        await store.close()
    store = await Store.open(tmp_path)  # and survive a restart
    try:
        await store.migrate("things", [step1, step2])
        await store.migrate("other", [other])
        await store.call(lambda c: c.execute("INSERT INTO things(name, size) VALUES ('a', 1)"))
        versions = await store.call(
            lambda c: dict(c.execute("SELECT component, version FROM schema_versions"))
        )
        assert versions == {"core": 1, "transactions_clock": 1, "things": 2, "other": 1}
    finally:
        await store.close()


async def test_a_failing_migration_step_leaves_no_trace(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    try:
        bad = "CREATE TABLE half (id INTEGER); INSERT INTO nowhere VALUES (1);"
        with pytest.raises(sqlite3.OperationalError):
            await store.migrate("broken", [bad])
        # what the core writes afterwards must still be durable (committed at once)
        await store.open_transaction(1, "CARD1", 0.0, 1_700_000_000.0)
        other = sqlite3.connect(tmp_path / DB_NAME)
        try:
            assert other.execute("SELECT count(*) FROM transactions").fetchone() == (1,)
            assert other.execute("SELECT 1 FROM sqlite_master WHERE name='half'").fetchone() is None
        finally:
            other.close()
    finally:
        await store.call(lambda c: c.execute("ROLLBACK") if c.in_transaction else None)
        await store.close()


async def test_transaction_open_record_close(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    try:
        tx = await store.open_transaction(1, "CARD1", 1000.0, 1_700_000_000.0)
        assert tx.is_open and tx.meter_start_wh == 1000.0 and tx.consumed_wh == 0.0
        assert [t.id for t in await store.open_transactions()] == [tx.id]
        await store.record_meter(tx.id, 1500.0, 1_700_000_060.0)
        mid = await store.transaction(tx.id)
        assert mid is not None and mid.last_meter_wh == 1500.0 and mid.consumed_wh == 500.0
        closed = await store.close_transaction(tx.id, 1800.0, 1_700_000_120.0, "Local", "CARD1")
        assert not closed.is_open
        assert closed.meter_stop_wh == 1800.0 and closed.consumed_wh == 800.0
        assert closed.stop_reason == "Local" and closed.stop_id_tag == "CARD1"
        assert await store.open_transactions() == []
        # a late meter reading or a second close does not touch a closed transaction
        await store.record_meter(tx.id, 9999.0, 1_700_000_200.0)
        again = await store.close_transaction(tx.id, 5.0, 1_700_000_300.0, "Other")
        assert again == closed
        await store.set_remote_id(tx.id, "R-42")
        final = await store.transaction(tx.id)
        assert final is not None and final.remote_id == "R-42"
        assert await store.transaction(tx.id + 100) is None
    finally:
        await store.close()


async def test_whitelist_replace_is_atomic(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    try:
        old = [WhitelistEntry("OLD1", "ACCEPTED"), WhitelistEntry("OLD2", "BLOCKED", 123, "P")]
        await store.replace_whitelist(old)
        assert await store.whitelist() == old
        # a list that fails half-way (the same token twice) leaves the old list whole
        dup = [WhitelistEntry("NEW1", "ACCEPTED"), WhitelistEntry("NEW1", "ACCEPTED")]
        with pytest.raises(sqlite3.IntegrityError):
            await store.replace_whitelist(dup)
        assert await store.whitelist() == old
        await store.replace_whitelist([WhitelistEntry("NEW1", "ACCEPTED")])
        assert [e.token for e in await store.whitelist()] == ["NEW1"]
        await store.replace_whitelist([])
        assert await store.whitelist() == []
    finally:
        await store.close()


async def test_read_transactions_reads_while_another_connection_writes(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    try:
        first = await store.open_transaction(1, "CARD1", 0.0, 1_700_000_000.0)
        writer = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None, timeout=0.1)
        try:
            writer.execute("BEGIN IMMEDIATE")  # holds the write lock, not committed
            writer.execute(
                "INSERT INTO transactions(connector_id, id_tag, start_ts, meter_start_wh, "
                "last_meter_wh, last_meter_ts) VALUES (2, 'CARD2', 1, 0, 0, 1)"
            )
            # WAL: the reader is not blocked and sees only what is committed
            assert [t.id for t in read_transactions(tmp_path)] == [first.id]
            writer.execute("COMMIT")
        finally:
            writer.close()
        rows = read_transactions(tmp_path)
        assert [t.id_tag for t in rows] == ["CARD2", "CARD1"]  # newest first
        assert len(read_transactions(tmp_path, limit=1)) == 1
    finally:
        await store.close()


def test_read_transactions_never_creates_a_database(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no database"):  # one line for the CLI
        read_transactions(tmp_path)
    assert not (tmp_path / DB_NAME).exists()


async def test_settings_round_trip(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    try:
        assert await store.get_setting("missing", "dflt") == "dflt"
        await store.set_setting("station_max_current", 16.0)
        await store.set_setting("station_max_current", 20.0)
        await store.set_setting("connector.1.operative", False)
        assert await store.all_settings() == {
            "station_max_current": 20.0,
            "connector.1.operative": False,
        }
    finally:
        await store.close()
