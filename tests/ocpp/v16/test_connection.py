"""Connection: URL, subprotocols, refusals and backoff, half-open links, security profiles 1-3."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from pathlib import Path

import pytest

from ncpa.ocpp.backoff import Backoff
from ncpa.ocpp.timeutil import fmt_time, parse_time
from tests.ocpp.conftest import AgentFactory, until
from tests.ocpp.csms import Csms, Quirks
from tests.ocpp.pki import Ca

KEY = "0123456789abcdef0123"


def test_lenient_csms_timestamps() -> None:
    base = parse_time("2024-05-01T10:00:00Z")
    assert parse_time("2024-05-01T10:00:00") == base  # no zone = UTC
    assert parse_time("2024-05-01T10:00:00.123456") == pytest.approx(base + 0.123456)
    assert parse_time("2024-05-01T10:00:00.1234567Z") == pytest.approx(base + 0.123456)
    assert parse_time("2024-05-01T12:00:00+02:00") == base
    assert fmt_time(base) == "2024-05-01T10:00:00.000Z"
    with pytest.raises(ValueError, match="not an ISO 8601"):
        parse_time("yesterday")


def test_backoff_grows_with_jitter_and_never_below_minimum() -> None:
    b = Backoff(1.0, 30.0)
    delays = [b.next() for _ in range(12)]
    assert all(1.0 <= d <= 31.0 for d in delays)
    assert max(delays[8:]) > max(delays[:2])
    b.reset()
    assert b.next() <= 2.0


@pytest.mark.parametrize("status", [401, 404, 412, 500])
async def test_refused_upgrade_is_retried_with_backoff(
    status: int, csms_factory, agent_factory: AgentFactory
) -> None:
    csms = await csms_factory(Quirks(http_status=status))
    agent = await agent_factory(csms.url)
    await until(lambda: csms.handshakes >= 3, 10, "retries")
    assert not agent.client.connected.is_set()
    csms.quirks.http_status = None
    await agent.accepted()


async def test_close_1008_after_handshake_is_retried(
    csms_factory, agent_factory: AgentFactory
) -> None:
    csms = await csms_factory(Quirks(close_1008=True))
    agent = await agent_factory(csms.url)
    await until(lambda: csms.handshakes >= 3, 10, "retries")
    csms.quirks.close_1008 = False
    await agent.accepted()


async def test_clean_close_reconnects_without_a_storm(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await agent_factory(csms.url, backoff_min=0.3, backoff_max=0.6)
    await agent.accepted()
    await csms.drop()
    await until(lambda: csms.connections == 2, 10, "reconnected")
    await agent.accepted()
    assert csms.handshakes == 2


async def test_auto_offers_201_then_16_and_uses_the_servers_pick(
    csms_factory, agent_factory: AgentFactory
) -> None:
    csms = await csms_factory(Quirks(subprotocols=["ocpp1.6", "ocpp2.0.1"]))
    agent = await agent_factory(csms.url, version="auto")
    await agent.accepted()
    assert csms.offered[0] == ["ocpp2.0.1", "ocpp1.6"]


async def test_auto_runs_201_when_the_server_picks_it(csms_factory, agent_factory) -> None:
    """`auto` offers 2.0.1 first and runs what the server picks, on the same connection."""
    from tests.ocpp.csms201 import Csms201

    csms = await Csms201(Quirks(subprotocols=["ocpp2.0.1", "ocpp1.6"])).start()
    try:
        agent = await agent_factory(csms.url, version="auto")
        await agent.accepted()
        assert csms.offered == [["ocpp2.0.1", "ocpp1.6"]]
        assert csms.connections == 1
        boot = csms.calls("BootNotification")[0]
        assert boot.payload["reason"] == "PowerUp"
        assert boot.payload["chargingStation"]["model"] == "NCPA"
    finally:
        await csms.stop()


async def test_auto_order_puts_16_first_when_configured(csms_factory, agent_factory) -> None:
    csms = await csms_factory(Quirks(subprotocols=["ocpp2.0.1", "ocpp1.6"], pick_client_first=True))
    agent = await agent_factory(csms.url, version="auto", auto_order="1.6,2.0.1")
    await agent.accepted()
    assert csms.offered[0] == ["ocpp1.6", "ocpp2.0.1"]
    assert "chargePointModel" in csms.calls("BootNotification")[0].payload


async def test_server_picking_no_subprotocol_is_an_error(
    csms_factory, agent_factory: AgentFactory
) -> None:
    csms = await csms_factory(Quirks(subprotocols=[]))
    agent = await agent_factory(csms.url)
    await until(lambda: csms.handshakes >= 2, 10, "retries")
    assert csms.connections >= 1 and not agent.client.connected.is_set()
    assert not csms.received


class FreezableProxy:
    """TCP proxy that can stop forwarding while keeping the sockets open (a half-open link)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.frozen = False
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> FreezableProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        for w in self._writers:
            w.close()
        if self._server:
            self._server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers += [writer, up_w]
        self.frozen = False

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await r.read(65536):
                    if not self.frozen:
                        w.write(data)
                        await w.drain()

        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))


async def test_ping_timeout_detects_a_half_open_link(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    proxy = await FreezableProxy(csms.port).start()
    try:
        agent = await agent_factory(
            f"ws://127.0.0.1:{proxy.port}/ocpp", settings={"WebSocketPingInterval": "1"}
        )
        await agent.accepted()
        proxy.frozen = True
        await until(lambda: not agent.client.connected.is_set(), 10, "half-open detected")
        await agent.accepted()
        assert csms.connections == 2
    finally:
        await proxy.stop()


# -- security profiles ----------------------------------------------------------------


async def test_profile_1_basic_auth(csms_factory, agent_factory: AgentFactory) -> None:
    csms = await csms_factory(Quirks(basic_auth=("CP1", KEY)))
    agent = await agent_factory(csms.url, security_profile=1, authorization_key=KEY)
    await agent.accepted()


async def test_profile_1_wrong_key_is_refused_and_retried(
    csms_factory, agent_factory: AgentFactory
) -> None:
    csms = await csms_factory(Quirks(basic_auth=("CP1", KEY)))
    agent = await agent_factory(csms.url, security_profile=1, authorization_key="x" * 16)
    await until(lambda: csms.handshakes >= 2, 10, "retries")
    assert not agent.client.connected.is_set()


def server_tls(tmp: Path, ca: Ca, client_ca: Ca | None = None) -> ssl.SSLContext:
    cert, key = ca.write_pair(tmp, "csms", "localhost", server=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if client_ca is not None:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca.write_root(tmp, "cp-root"))
    return ctx


async def test_profile_2_tls_with_pinned_root(
    tmp_path: Path, csms_factory, agent_factory: AgentFactory
) -> None:
    ca = Ca.make()
    csms = await csms_factory(Quirks(basic_auth=("CP1", KEY)), ssl_context=server_tls(tmp_path, ca))
    agent = await agent_factory(
        csms.url, security_profile=2, authorization_key=KEY, ca_file=str(ca.write_root(tmp_path))
    )
    await agent.accepted()


async def test_profile_2_rejects_a_csms_outside_the_pinned_root(
    tmp_path: Path, csms_factory, agent_factory: AgentFactory
) -> None:
    csms = await csms_factory(Quirks(), ssl_context=server_tls(tmp_path, Ca.make("Other Root")))
    pinned = Ca.make().write_root(tmp_path, "pinned")
    agent = await agent_factory(
        csms.url, security_profile=2, authorization_key=KEY, ca_file=str(pinned)
    )
    await until(
        lambda: csms.handshakes == 0 and agent.client._backoff.failures >= 2, 10, "tls fail"
    )
    assert not agent.client.connected.is_set()


async def test_profile_3_mutual_tls(
    tmp_path: Path, csms_factory, agent_factory: AgentFactory
) -> None:
    ca, cp_ca = Ca.make(), Ca.make("CP Root")
    csms = await csms_factory(Quirks(), ssl_context=server_tls(tmp_path, ca, cp_ca))
    cert, key = cp_ca.write_pair(tmp_path, "cp", "CP1")
    agent = await agent_factory(
        csms.url,
        security_profile=3,
        ca_file=str(ca.write_root(tmp_path)),
        client_cert=str(cert),
        client_key=str(key),
    )
    await agent.accepted()


async def test_security_profile_is_never_lowered_over_ocpp(
    csms_factory, agent_factory: AgentFactory
) -> None:
    from ocpp.v16 import call

    csms = await csms_factory(Quirks(basic_auth=("CP1", KEY)))
    agent = await agent_factory(csms.url, security_profile=1, authorization_key=KEY)
    await agent.accepted()
    res = await csms.call(call.ChangeConfiguration(key="SecurityProfile", value="0"))
    assert res.status == "Rejected"
    res = await csms.call(call.ChangeConfiguration(key="SecurityProfile", value="2"))
    assert res.status == "Rejected"  # no wss:// and no pinned root: cannot go up either
    assert agent.client.settings.get("SecurityProfile") == "1"
