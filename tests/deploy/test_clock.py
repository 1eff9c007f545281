"""The clock a charger stamps with (ncpa/clock.py): a bounded wait for time sync at start,
the CSMS's BootNotification time when it is the only source, and transactions marked
when they were stamped on a clock nobody set. The system clock is faked at the process
boundary: `[clock] sync_source` names a file that says "synchronized" by existing."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ncpa import clock
from ncpa.api.pairing import JtiRegistry, PairingError, PairingPolicy, pair
from ncpa.clock import Clock, ClockSettings, parse_settings, sync_check
from ncpa.config import Config, ConfigError
from ncpa.store import Store
from tests.api.keys import CP_ID, AuthServer
from tests.deploy.test_update_reboot import UnitAgent, dump
from tests.drivers.rig import Rig, emulated_rig
from tests.drivers.waiting import until
from tests.ocpp.csms import Csms, Quirks

HOUR = 3600.0


class Wall:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_csms_time_until_the_system_clock_is_synchronized() -> None:
    synced = [False]
    wall = Wall(1_000.0)  # a Pi without RTC and without fake-hwclock: near 1970
    c = Clock(lambda: synced[0], wall)
    assert not c.trusted() and c.now() == 1_000.0
    c.offer_csms_time(None)
    assert not c.trusted()
    csms = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    c.offer_csms_time(csms)
    assert c.trusted() and c.source == "csms"
    wall.t += 10
    assert c.now() == pytest.approx(csms.timestamp() + 10)
    synced[0] = True  # NTP arrives: the system clock wins, no offset any more
    assert c.now() == wall.t and c.source == "system"
    c.offer_csms_time(csms.timestamp() + HOUR)  # ignored now
    assert c.offset == 0.0


def test_csms_time_can_be_refused() -> None:
    c = Clock(lambda: False, Wall(5.0), use_csms_time=False)
    c.offer_csms_time(1e9)
    assert not c.trusted() and c.now() == 5.0


async def test_wait_is_bounded_and_ends_at_sync(tmp_path: Path) -> None:
    flag = tmp_path / "synchronized"
    c = Clock(sync_check(str(flag)))
    t0 = time.monotonic()
    assert await c.wait_for_sync(0.3, poll=0.05) is False
    assert 0.25 < time.monotonic() - t0 < 5
    loop = asyncio.get_running_loop()
    loop.call_later(0.2, flag.touch)
    t0 = time.monotonic()
    assert await c.wait_for_sync(30, poll=0.05) is True
    assert time.monotonic() - t0 < 10


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"wait_for_sync": "5"}, "wait_for_sync: expected seconds"),
        ({"wait_for_sync": 601}, "0..600"),
        ({"sync_source": "relative/file"}, "must be absolute"),
        ({"csms_time": 1}, "csms_time: expected true or false"),
        ({"ntp": True}, "clock.ntp: unknown setting"),
    ],
)
def test_bad_settings(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_settings(Config(raw={"clock": raw}))


def test_defaults() -> None:
    assert parse_settings(Config()) == ClockSettings(20.0, "auto", True)


# -- the real process, started by the unit's command line ------------------------------


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with emulated_rig(contactor="rapi") as r:
        yield r


def clock_agent(tmp: Path, rig: Rig, wait: float, extra: str = "") -> UnitAgent:
    agent = UnitAgent(tmp, rig)
    text = agent.config.read_text().replace("[clock]\nwait_for_sync = 0\n", "")
    agent.config.write_text(
        text + f'\n[clock]\nwait_for_sync = {wait}\nsync_source = "{tmp / "synced"}"\n' + extra
    )
    return agent


async def one_session(agent: UnitAgent, rig: Rig) -> tuple[float, int]:
    """Plug, charge, unplug: (start_ts, clock_untrusted) of the transaction."""
    rig.evcc.set_pilot("B")
    rig.evcc.set_pilot("C")
    await until(lambda: agent.logged("contactor", closed=True), limit=15)
    rig.evcc.set_pilot("B")
    rig.evcc.set_pilot("A")
    await until(lambda: agent.logged("transaction.stopped"), limit=15)
    with sqlite3.connect(f"file:{agent.data_dir / 'ncpa.sqlite3'}?mode=ro", uri=True) as db:
        ((start, flag),) = db.execute("SELECT start_ts, clock_untrusted FROM transactions")
    return float(start), int(flag)


async def test_never_synchronized_start_waits_then_marks(rig: Rig, tmp_path: Path) -> None:
    agent = clock_agent(tmp_path, rig, wait=1.5).start()
    try:
        await until(agent._ready.is_set, limit=30)
        events = [x.get("event") for x in agent.lines]
        assert events.index("clock.waiting") < events.index("clock.untrusted")
        assert events.index("clock.untrusted") < events.index("ncpa.ready"), dump(agent)
        _start, untrusted = await one_session(agent, rig)
        assert untrusted == 1
    finally:
        await asyncio.to_thread(agent.stop)
    r = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "ncpa", "transactions", "--config", str(agent.config)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "clock not synchronized" in r.stdout, r.stdout + r.stderr


async def test_synchronized_during_the_wait(rig: Rig, tmp_path: Path) -> None:
    agent = clock_agent(tmp_path, rig, wait=60).start()
    try:
        await until(lambda: agent.logged("clock.waiting"), limit=30)
        assert not agent._ready.is_set()  # nothing runs on the unset clock meanwhile
        (tmp_path / "synced").touch()  # timesyncd: synchronized
        await until(agent._ready.is_set, limit=30)
        assert agent.logged("clock.synchronized") and not agent.logged("clock.untrusted")
        _start, untrusted = await one_session(agent, rig)
        assert untrusted == 0
    finally:
        await asyncio.to_thread(agent.stop)


async def test_csms_time_is_the_source_when_nothing_else_is(rig: Rig, tmp_path: Path) -> None:
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)  # the CSMS knows better

    def csms_now() -> str:
        return (ahead + dt.timedelta(seconds=time.monotonic() - t0)).isoformat()

    t0 = time.monotonic()
    csms = await Csms(Quirks(current_time=csms_now)).start()
    agent = clock_agent(tmp_path, rig, wait=0.5)
    text = agent.config.read_text()
    agent.config.write_text(
        text.replace("[energy]", f'[ocpp]\ncsms_url = "{csms.url}"\n\n[energy]')
    )
    agent.start()
    try:
        await until(lambda: agent.logged("clock.from_csms"), limit=30)
        start, untrusted = await one_session(agent, rig)
        assert untrusted == 0
        assert start - time.time() == pytest.approx(2 * HOUR, abs=60)
    finally:
        await asyncio.to_thread(agent.stop)
        await csms.stop()


async def test_qr_labels_are_checked_on_the_csms_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Pi that booted at 1970 with only the CSMS's time: a fresh label is not "issued in
    the future"; one that expired by the CSMS's clock is refused."""
    auth = AuthServer()
    policy = PairingPolicy(CP_ID, auth.secret, [auth.es.public_key()])
    wall = Wall(1_000.0)
    unset = Clock(lambda: False, wall)
    monkeypatch.setattr(clock, "CLOCK", unset)
    store = await Store.open(tmp_path)
    try:
        jtis = JtiRegistry(store)
        await jtis.migrate()
        with pytest.raises(PairingError, match="issued in the future"):
            await pair(auth.token(), policy, jtis)  # on 1970: no
        unset.offer_csms_time(time.time())
        assert (await pair(auth.token(), policy, jtis)).role == "installer"
        with pytest.raises(PairingError, match="expired"):
            await pair(auth.token(exp=int(time.time()) - 60), policy, jtis)
    finally:
        await store.close()
