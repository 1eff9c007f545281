"""The API the web page needs: the live event stream, diagnostics (journal, logs, OCPP
frame trace, hardware check), the update state, the page itself with its CSP, and the
developer panel's relay to the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from ncpa.api.app import ApiServer
from ncpa.api.page_services import PAGE, PageOptions
from ncpa.api.routes_live import MAX_STREAMS
from tests.api.conftest import Api, Charger, api_settings, write_keys
from tests.api.keys import CP_ID
from tests.api.sse import events, validate, wait_event


def _open(
    api: Api, token: str | None, client: str = "phone-1"
) -> aiohttp.client._RequestContextManager:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return api.session.get(f"{api.url}/events", params={"clientId": client}, headers=headers)


async def test_stream_starts_with_a_snapshot_then_follows_a_session(api: Api) -> None:
    token = await api.login("operator")
    async with _open(api, token) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/event-stream")
        stream = events(r)
        snap = await wait_event(stream, lambda k, d: k == "snapshot")
        assert snap["connectors"][0]["status"] == "Available"
        assert snap["csms"] == {"configured": False}
        api.charger.plant.plug(1)  # plug-and-charge? WHITELIST by default: start remotely
        status, _ = await api.call("POST", "/charging/start", token, params={"tag": "CARD1"})
        assert status == 204
        data = await wait_event(
            stream,
            lambda k, d: (
                k == "connector"
                and d["connector"]["status"] == "Charging"
                and d["connector"]["powerW"] > 0
            ),
        )
        c = data["connector"]
        assert c["contactorClosed"] and c["session"]["idTag"] == "CARD1"
        assert max(c["currents"]) > 0 and c["offered"] > 0
        # a limit change reaches the stream with its source
        installer = await api.login("installer", client="laptop")
        status, _ = await api.call(
            "POST", "/config/charge-station-max-current", installer, client="laptop",
            params={"chargeStationMaxCurrent": "10"},
        )  # fmt: skip
        assert status == 200
        limit = await wait_event(stream, lambda k, d: k == "limit" and d["amps"] == 10)
        assert limit["source"] == "installer"
    # a new stream carries the session's history for the chart, with the limit marked
    async with _open(api, token) as r:
        snap = await wait_event(events(r), lambda k, d: k == "snapshot")
        hist = snap["history"]["1"]
        assert hist["transactionId"] == c["session"]["transactionId"]
        assert hist["points"] and hist["points"][-1][1] > 0
        assert [10, "installer"] in [m[1:] for m in hist["limits"]]


async def test_stream_needs_the_header_token_and_its_client(api: Api) -> None:
    async with _open(api, None) as r:
        assert r.status == 401
        assert (await r.json())["error"] == "Unauthorized"
    token = await api.login("operator")
    async with _open(api, token, client="someone-else") as r:
        assert r.status == 403


async def test_stream_ends_when_the_token_expires(api: Api) -> None:
    short = api.server_tokens()
    short.ttl_s = 1.5
    token = short.issue("operator", "phone-1")
    async with _open(api, token) as r:
        stream = events(r)
        await wait_event(stream, lambda k, d: k == "snapshot")
        await wait_event(stream, lambda k, d: k == "expired", timeout=5)
        with pytest.raises(StopAsyncIteration):
            await anext(stream)  # the server closed it
    assert api.server_state() is not None


async def test_streams_are_bounded(api: Api) -> None:
    token = await api.login("operator")
    opened = []
    try:
        for _ in range(MAX_STREAMS):
            r = await _open(api, token)
            assert r.status == 200
            await wait_event(events(r), lambda k, d: k == "snapshot")
            opened.append(r)
        async with _open(api, token) as r:
            assert r.status == 503
            assert "at most" in (await r.json())["message"]
    finally:
        for r in opened:
            r.close()
    assert api.server._runner is not None
    hub = api.server._runner.app[PAGE].live
    for _ in range(50):  # the server notices within a second or so
        if hub.subscribers == 0:
            break
        await asyncio.sleep(0.1)
    async with _open(api, token) as r:  # closed streams free their place
        assert r.status == 200


async def test_journal_filters_and_bounds(api: Api) -> None:
    token = await api.login("installer")
    api.charger.plant.plug(1)
    await api.call("POST", "/charging/start", token, params={"tag": "CARD1"})
    await asyncio.sleep(0.5)
    status, rows = await api.call("GET", "/diagnostics/journal", token, params={"limit": "5"})
    assert status == 200 and 0 < len(rows) <= 5
    status, rows = await api.call(
        "GET", "/diagnostics/journal", token, params={"kind": "TransactionStarted"}
    )
    assert status == 200 and rows and {r["kind"] for r in rows} == {"TransactionStarted"}
    assert rows[0]["data"]["id_tag"] == "CARD1"
    status, rows = await api.call("GET", "/diagnostics/journal", token, params={"connector": "7"})
    assert status == 200 and rows == []
    for bad in ({"kind": "x'; DROP"}, {"limit": "0"}, {"connector": "a"}):
        status, body = await api.call("GET", "/diagnostics/journal", token, params=bad)
        assert status == 400, bad
        assert body["message"].startswith(next(iter(bad)))
    operator = await api.login("operator", client="phone-2")
    status, _ = await api.call("GET", "/diagnostics/journal", operator, client="phone-2")
    assert status == 403


async def test_logs_filter_by_level_and_text(api: Api) -> None:
    token = await api.login("installer")
    await api.call("POST", "/tests/shunt/activate", token)  # logs a warning
    status, lines = await api.call(
        "GET", "/diagnostics/logs", token, params={"level": "WARNING", "contains": "SHUNT"}
    )
    assert status == 200 and lines
    assert all(line["level"] in ("WARNING", "ERROR", "CRITICAL") for line in lines)
    assert any("shunt" in line["event"] for line in lines)
    status, lines = await api.call("GET", "/diagnostics/logs", token, params={"limit": "1"})
    assert status == 200 and len(lines) == 1
    status, body = await api.call("GET", "/diagnostics/logs", token, params={"level": "LOUD"})
    assert status == 400 and body["message"].startswith("level")


async def test_ocpp_trace_switch(api: Api) -> None:
    token = await api.login("installer")
    status, body = await api.call("GET", "/diagnostics/ocpp-trace", token)
    assert status == 200 and body == {"enabled": False, "frames": []}
    status, body = await api.call("PUT", "/diagnostics/ocpp-trace", token, json={"enabled": True})
    assert status == 200 and body["enabled"] is True
    assert api.server._runner is not None  # the stand-in trace records what it is given
    services = api.server._runner.app[PAGE]
    services.trace.record("out", '[2,"1","Heartbeat",{}]')  # type: ignore[attr-defined]
    status, body = await api.call("GET", "/diagnostics/ocpp-trace", token)
    assert body["frames"][0]["direction"] == "out" and "Heartbeat" in body["frames"][0]["frame"]
    validate("OcppTrace", body)
    for bad in ({"enabled": "yes"}, {"enabled": True, "x": 1}, [], {}):
        status, err = await api.call("PUT", "/diagnostics/ocpp-trace", token, json=bad)
        assert status == 400, bad
        assert err["message"].startswith("enabled")
    status, body = await api.call("GET", "/diagnostics/ocpp-trace", token)
    assert body["enabled"] is True  # bad input changed nothing
    operator = await api.login("operator", client="phone-2")
    status, _ = await api.call(
        "PUT", "/diagnostics/ocpp-trace", operator, client="phone-2", json={"enabled": False}
    )
    assert status == 403


async def test_hw_check_on_the_simulator(api: Api) -> None:
    token = await api.login("installer")
    status, body = await api.call("POST", "/diagnostics/hw-check", token)
    assert status == 200, body
    names = [s["name"] for s in body["steps"]]
    assert names[:4] == [
        "connector 1: meter", "connector 1: charge controller",
        "connector 1: contactor", "connector 1: lock",
    ]  # fmt: skip
    assert body["passed"] is True
    # a welded contactor shows as a failed step with its fix
    from simulator.plant import FaultKind

    api.charger.plant.set_fault(FaultKind.RCD, True, 1)
    await asyncio.sleep(0.3)
    status, body = await api.call("POST", "/diagnostics/hw-check", token)
    failed = [s for s in body["steps"] if s["result"] == "FAIL"]
    assert body["passed"] is False and failed and failed[0]["fix"]


async def test_upgrade_state(api: Api) -> None:
    token = await api.login("operator")
    status, body = await api.call("GET", "/upgrade/state", token)
    assert status == 200
    assert body["state"] == "IDLE" and body["trial"] is None and body["lastRollback"] is None


async def test_page_is_served_with_a_strict_csp(api: Api) -> None:
    status, body = await api.call("GET", "/", client=None)
    assert status == 200 and b"<!doctype html>" in body.lower()
    async with api.session.get(api.url + "/") as r:
        csp = r.headers["Content-Security-Policy"]
        etag = r.headers["ETag"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    async with api.session.get(api.url + "/", headers={"If-None-Match": etag}) as r:
        assert r.status == 304
    status, _ = await api.call("GET", "/static/app.js", client=None)
    assert status == 200
    for bad in ("/static/nothing.js", "/static/index.html", "/static/..%2Fopenapi.json"):
        async with api.session.get(api.url + bad) as r:
            assert r.status == 404, bad
    # every file the page references exists and has the type the CSP expects
    html = await (await api.session.get(api.url + "/")).text()
    import re

    for ref in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        async with api.session.get(api.url + ref) as r:
            assert r.status == 200, ref
            assert r.headers["Content-Type"].split(";")[0] in ("text/javascript", "text/css")
    assert "<script>" not in html and "style=" not in html  # nothing inline


@pytest.fixture
async def sim_api(charger: Charger, sim: str, tmp_path: Path) -> AsyncIterator[Api]:
    settings = api_settings(charger, write_keys(tmp_path / "keys"))
    server = ApiServer(
        charger.station, settings, on_reboot=lambda: None, page=PageOptions(simulator_url=sim)
    )
    await server.start()
    a = Api(server, aiohttp.ClientSession(), settings, charger, tmp_path / "keys")
    yield a
    await a.session.close()
    await server.stop()


async def test_developer_panel_drives_the_simulator(sim_api: Api) -> None:
    api = sim_api
    dev = await api.login("developer")
    status, body = await api.call("POST", "/development/simulator/plug", dev, json={"soc": 0.5})
    assert status == 200 and body["connectors"][0]["plugged"] is True
    status, body = await api.call(
        "POST", "/development/simulator/ev", dev, json={"connectorId": 1, "state": "X"}
    )
    assert status == 400 and "state" in body["message"]  # the simulator's own message
    status, body = await api.call("POST", "/development/simulator/unplug", dev, json={})
    assert status == 200
    status, body = await api.call("POST", "/development/simulator/unplug", dev, json={})
    assert status == 409
    status, body = await api.call(
        "POST", "/development/simulator/breaker", dev, json={"closed": True}
    )
    assert status == 200
    status, body = await api.call(
        "POST", "/development/simulator/input", dev, json={"name": "door", "value": True}
    )
    assert status == 400 and body["message"].startswith("name")
    status, body = await api.call("POST", "/development/simulator/shutdown", dev, json={})
    assert status == 404
    status, body = await api.call("GET", "/development/simulator", dev)
    assert status == 200 and "connectors" in body
    installer = await api.login("installer", client="laptop")
    status, _ = await api.call("POST", "/development/simulator/plug", installer, client="laptop")
    assert status == 403


async def test_developer_panel_without_simulator_or_in_production(api: Api, prod_api: Api) -> None:
    dev = await api.login("developer")
    status, body = await api.call("POST", "/development/simulator/plug", dev, json={})
    assert status == 503 and "simulator" in body["message"]
    token = await prod_api.login("installer")
    status, _ = await prod_api.call("POST", "/development/simulator/plug", token, json={})
    assert status == 404
    assert CP_ID


def test_a_lagging_subscriber_gets_one_resync_not_a_growing_queue(charger: Charger) -> None:
    from ncpa.api.live import QUEUE_SIZE, RESYNC, LiveHub
    from ncpa.events import StatusChanged

    hub = LiveHub(charger.station)
    hub.start()
    try:
        q = hub.subscribe()
        for _ in range(QUEUE_SIZE * 3):
            charger.station.bus.publish(StatusChanged(1, "Available", "NoError"))
        assert q.qsize() <= QUEUE_SIZE
        items = [q.get_nowait() for _ in range(q.qsize())]
        assert RESYNC in items  # the stream answers it with a fresh snapshot
        hub.unsubscribe(q)
        charger.station.bus.publish(StatusChanged(1, "Available", "NoError"))
        assert q.empty()
    finally:
        hub.stop()


def test_session_history_is_bounded_and_spans_the_session() -> None:
    from ncpa.api.live import HISTORY_POINTS, SessionHistory

    h = SessionHistory()
    h.reset(7)
    for i in range(20_000):
        h.add(1000.0 + i, 7000.0, 16.0)
    assert len(h.points) < HISTORY_POINTS
    assert h.points[0][0] == 1000.0 and h.points[-1][0] > 1000.0 + 19_000
    h.reset(8)
    assert h.json() == {"transactionId": 8, "points": [], "limits": []}
