"""The real daemon (`ncpa run --sim` in a subprocess), driven only through the simulator
control API: sessions, cards, pauses, faults, and a kill -9 in the middle of a session."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.agent import Agent


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Agent]:
    a = Agent(tmp_path).start()
    yield a
    a.stop()


def charging(a: Agent) -> bool:
    return a.status() == "Charging" and bool(a.hw()["contactor"]["closed"])


def seed_whitelist(data_dir: Path, *tokens: str) -> None:
    """Cards known before the agent starts (as the installer's app would have added)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    from asyncio import run

    from ncpa.store import Store, WhitelistEntry

    async def seed() -> None:
        store = await Store.open(data_dir)
        for t in tokens:
            await store.put_card(WhitelistEntry(t, "ACCEPTED"))
        await store.close()

    run(seed())


def transactions(data_dir: Path) -> list[tuple[int, str, float, float | None, str | None]]:
    with sqlite3.connect(f"file:{data_dir / 'ncpa.sqlite3'}?mode=ro", uri=True) as db:
        return list(
            db.execute(
                "SELECT id, id_tag, meter_start_wh, meter_stop_wh, stop_reason "
                "FROM transactions ORDER BY id"
            )
        )


def test_plugncharge_session_energy_on_unplug(agent: Agent) -> None:
    assert agent.status() == "Available"
    agent.post("/sim/connectors/1/plug")
    agent.wait(lambda: charging(agent), what="charging")
    agent.wait(lambda: agent.connector()["transaction"]["consumed_wh"] > 0.5, what="energy")
    agent.post("/sim/connectors/1/unplug")
    agent.wait(lambda: agent.status() == "Available")
    tx = agent.agent()["recent_transactions"][0]
    assert tx["id_tag"] == "LCPIT0001"
    assert tx["stop_reason"] == "EVDisconnected"
    assert tx["meter_stop_wh"] - tx["meter_start_wh"] > 0
    assert tx["consumed_wh"] == pytest.approx(tx["meter_stop_wh"] - tx["meter_start_wh"])
    assert not agent.hw()["contactor"]["closed"] and not agent.hw()["lock"]["locked"]


def test_whitelist_accepted_and_rejected_cards(tmp_path: Path) -> None:
    agent = Agent(tmp_path, auth_mode="WHITELIST")
    seed_whitelist(agent.data_dir, "AA11BB22")
    agent.start()
    try:
        agent.post("/sim/connectors/1/plug")
        agent.wait(lambda: agent.status() == "Preparing")
        agent.post("/sim/rfid", {"uid": "DEADBEEF"})  # not on the list, no CSMS: refused
        agent.wait(lambda: agent.sim()["last_card"] == "DEADBEEF")
        agent.wait(
            lambda: any(
                line.get("event") == "card.authorization" and line.get("uid") == "DEADBEEF"
                for line in agent.lines
            )
        )
        assert agent.status() == "Preparing" and agent.connector()["transaction"] is None
        assert not agent.hw()["contactor"]["closed"]
        agent.post("/sim/rfid", {"uid": "AA11BB22"})
        agent.wait(lambda: charging(agent))
        assert agent.connector()["transaction"]["id_tag"] == "AA11BB22"
        agent.post("/sim/rfid", {"uid": "AA11BB22"})  # the same card ends it
        agent.wait(lambda: agent.status() == "Finishing")
        agent.post("/sim/connectors/1/unplug")
        agent.wait(lambda: agent.status() == "Available")
        (tx,) = transactions(agent.data_dir)
        assert tx[1] == "AA11BB22" and tx[4] == "Local"
    finally:
        agent.stop()


def test_ev_pauses_and_resumes(agent: Agent) -> None:
    agent.post("/sim/connectors/1/plug")
    agent.wait(lambda: charging(agent))
    agent.post("/sim/connectors/1/ev", {"state": "B"})
    agent.wait(lambda: agent.status() == "SuspendedEV")
    assert not agent.hw()["contactor"]["closed"]
    agent.post("/sim/connectors/1/ev", {"state": "C"})
    agent.wait(lambda: charging(agent))


@pytest.mark.parametrize(
    "kind", ["rcd", "welded_contactor", "lock_failure", "meter_timeout", "evcc_link_lost"]
)
def test_each_fault_opens_contactor_and_reports_faulted(agent: Agent, kind: str) -> None:
    agent.post("/sim/connectors/1/plug")
    agent.wait(lambda: charging(agent))
    agent.post("/sim/faults", {"kind": kind, "active": True})
    if kind == "welded_contactor":
        # a weld only shows when the contact should open: the EV pauses
        agent.post("/sim/connectors/1/ev", {"state": "B"})
    if kind == "lock_failure":
        # a stuck lock shows when it has to move: the session ends, the lock must release
        agent.post("/sim/connectors/1/unplug")
        agent.post("/sim/connectors/1/plug")
    agent.wait(lambda: agent.status() == "Faulted", what="Faulted")
    hw = agent.hw()
    assert hw["contactor"]["commanded"] is False
    if kind == "welded_contactor":
        agent.wait(lambda: agent.sim()["breaker_closed"] is False, what="shunt trip")
    assert agent.connector()["faults"]


def test_kill9_mid_session_then_restart_closes_one_transaction(tmp_path: Path) -> None:
    agent = Agent(tmp_path).start()
    agent.post("/sim/connectors/1/plug")
    agent.wait(lambda: charging(agent))
    # let a few durable meter checkpoints pass
    agent.wait(lambda: agent.connector()["transaction"]["consumed_wh"] > 1.0)
    checkpoint_seen = transactions(agent.data_dir)
    agent.kill9()
    agent.start()
    try:
        agent.wait(lambda: agent.status() == "Available")
        rows = transactions(agent.data_dir)
        assert len(rows) == 1, rows
        tx_id, tag, start, stop, reason = rows[0]
        assert tag == "LCPIT0001"
        assert reason == "PowerLoss" and stop is not None
        assert stop > start  # the last durable reading, not the start
        assert tx_id == checkpoint_seen[0][0]
    finally:
        agent.stop()


def test_bad_control_requests_get_400(agent: Agent) -> None:
    code, body = agent.post_error("/sim/connectors/1/ev", {"state": "X"})
    assert code == 400 and "state" in body["message"]
    code, body = agent.post_error("/sim/faults", {"kind": "gremlins", "active": True})
    assert code == 400 and "kind" in body["message"]
    code, body = agent.post_error("/sim/rfid", {"uid": ""})
    assert code == 400
    code, body = agent.post_error("/sim/connectors/x/plug", {})
    assert code == 400
    code, body = agent.post_error("/sim/connectors/9/plug", {})
    assert code == 404
    code, body = agent.post_error("/sim/connectors/1/unplug", {})
    assert code == 409 and "no EV" in body["message"]
    assert agent.status() == "Available"  # nothing changed


def test_sigterm_is_a_clean_shutdown(agent: Agent) -> None:
    agent.post("/sim/connectors/1/plug")
    agent.wait(lambda: charging(agent))
    assert agent.stop() == 0
    (tx,) = transactions(agent.data_dir)
    assert tx[4] == "Reboot" and tx[3] is not None
    assert any(line.get("event") == "ncpa.stopped" for line in agent.lines)
