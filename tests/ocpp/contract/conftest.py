"""The contract suite: the same session stories against a CSMS of each version.

`peer` is a real CSMS of one version (tests/ocpp/csms.py, csms201.py) with what the
stories need in neutral terms: the transaction messages it received as starts / updates /
stops (message id, id token, stop reason, the CSMS's transaction id), and the remote
commands of that version (remote start / stop, reset)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from tests.ocpp.conftest import Agent, AgentFactory
from tests.ocpp.csms import Csms, Msg, Quirks
from tests.ocpp.csms201 import Csms201

VERSIONS = ["1.6", "2.0.1"]
# the stop reason a CSMS of each version reads for a Reset during a transaction
RESET_REASON = {"1.6": "SoftReset", "2.0.1": "ImmediateReset"}


@dataclass(frozen=True)
class TxMsg:
    kind: str  # start | update | stop
    unique_id: str
    tx: str | None  # the CSMS's name of the transaction (None: not in this message)
    id_token: str | None
    reason: str | None  # stop reason
    offline: bool | None  # 2.0.1's offline flag (None under 1.6)
    seq_no: int | None


class Peer:
    def __init__(self, version: str, port: int = 0) -> None:
        self.version = version
        self.port = port
        if version == "1.6":
            self.csms: Csms = Csms(Quirks())
        else:
            self.csms = Csms201(Quirks(subprotocols=["ocpp2.0.1"]))
        self.csms.port = port  # the URL is known before the CSMS is up (offline stories)

    async def start(self) -> Peer:
        await self.csms.start(self.port)
        self.port = self.csms.port
        return self

    async def stop(self) -> None:
        await self.csms.stop()

    @property
    def url(self) -> str:
        return self.csms.url

    async def agent(self, agent_factory: AgentFactory, **kw: Any) -> Agent:
        return await agent_factory(self.url, version=self.version, **kw)

    # -- what the CSMS saw, in neutral terms ---------------------------------------------

    def tx_messages(self) -> list[TxMsg]:
        """Every transaction message received, resends included, in order."""
        return [t for m in self.csms.received if (t := self._neutral(m)) is not None]

    def _neutral(self, m: Msg) -> TxMsg | None:
        p = m.payload
        if self.version == "1.6":
            if m.action == "StartTransaction":
                return TxMsg("start", m.unique_id, None, p["idTag"], None, None, None)
            if m.action == "StopTransaction":
                tx = str(p["transactionId"])
                reason = p.get("reason", "Local")
                return TxMsg("stop", m.unique_id, tx, p.get("idTag"), reason, None, None)
            if m.action == "MeterValues" and "transactionId" in p:
                tx = str(p["transactionId"])
                return TxMsg("update", m.unique_id, tx, None, None, None, None)
            return None
        if m.action != "TransactionEvent":
            return None
        info = p["transactionInfo"]
        kind = {"Started": "start", "Updated": "update", "Ended": "stop"}[p["eventType"]]
        token = p.get("idToken", {}).get("idToken")
        reason = info.get("stoppedReason", "Local") if kind == "stop" else None
        offline = bool(p.get("offline", False))
        return TxMsg(kind, m.unique_id, info["transactionId"], token, reason, offline, p["seqNo"])

    def once(self, kind: str) -> list[TxMsg]:
        """The messages of `kind`, one per message id (a resend is the same message)."""
        seen: dict[str, TxMsg] = {}
        for t in self.tx_messages():
            if t.kind == kind:
                seen.setdefault(t.unique_id, t)
        return list(seen.values())

    def boots(self) -> list[Msg]:
        return self.csms.calls("BootNotification")

    def statuses(self) -> list[str]:
        key = "status" if self.version == "1.6" else "connectorStatus"
        return [m.payload[key] for m in self.csms.calls("StatusNotification")]

    async def wait_stop(self, count: int = 1, within: float = 15) -> list[TxMsg]:
        action = "StopTransaction" if self.version == "1.6" else "TransactionEvent"
        await self.csms.wait_for(
            action,
            pred=lambda m: (t := self._neutral(m)) is not None and t.kind == "stop",
            count=count,
            within=within,
        )
        return self.once("stop")

    async def wait_start(self, within: float = 15) -> TxMsg:
        action = "StartTransaction" if self.version == "1.6" else "TransactionEvent"
        await self.csms.wait_for(
            action,
            pred=lambda m: (t := self._neutral(m)) is not None and t.kind == "start",
            within=within,
        )
        return self.once("start")[0]

    # -- commands of this version ----------------------------------------------------------

    async def remote_start(self, id_token: str, connector: int = 1) -> str:
        if self.version == "1.6":
            res = await self.csms.call(
                call16.RemoteStartTransaction(id_tag=id_token, connector_id=connector)
            )
        else:
            res = await self.csms.call(
                call201.RequestStartTransaction(
                    id_token={"id_token": id_token, "type": "Central"},
                    remote_start_id=7,
                    evse_id=connector,
                )
            )
        return str(res.status)

    async def remote_stop(self, tx: str) -> str:
        if self.version == "1.6":
            res = await self.csms.call(call16.RemoteStopTransaction(transaction_id=int(tx)))
        else:
            res = await self.csms.call(call201.RequestStopTransaction(transaction_id=tx))
        return str(res.status)

    async def reset(self) -> str:
        """A reset of the whole station now (1.6 Soft, 2.0.1 Immediate)."""
        if self.version == "1.6":
            res = await self.csms.call(call16.Reset(type="Soft"))
        else:
            res = await self.csms.call(call201.Reset(type="Immediate"))
        return str(res.status)


def assert_exactly_once(peer: Peer) -> None:
    """Each transaction: one start, one stop (by message id), the start first."""
    starts, stops = peer.once("start"), peer.once("stop")
    assert len(starts) == 1 and len(stops) == 1, peer.tx_messages()
    order = [t.kind for t in peer.tx_messages()]
    assert order.index("start") < order.index("stop"), order
    if peer.version == "2.0.1":  # seqNo: one per message id, from 0 without a gap
        first: dict[str, int | None] = {}
        for t in peer.tx_messages():
            assert first.setdefault(t.unique_id, t.seq_no) == t.seq_no
        assert sorted(n or 0 for n in first.values()) == list(range(len(first)))


@pytest.fixture(params=VERSIONS)
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def peer(version: str) -> AsyncIterator[Peer]:
    p = await Peer(version).start()
    yield p
    await p.stop()
