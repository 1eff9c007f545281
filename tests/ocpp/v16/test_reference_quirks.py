"""What the reference central systems' code does (INTEROP.md, "More from their code"), each
as a test double, and the agent's messages surviving it (field hardening 15)."""

from __future__ import annotations

import time

from ocpp.v16 import call

from tests.ocpp.conftest import AgentFactory, until
from tests.ocpp.csms import Quirks


async def test_calls_before_the_boot_answer_are_answered_and_applied(
    csms_factory, agent_factory: AgentFactory
) -> None:
    """Go CSMS: ChangeConfiguration from inside its Boot handler."""
    csms = await csms_factory(
        Quirks(
            before_boot_answer=[
                ("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "30"}),
                (
                    "ChangeConfiguration",
                    {"key": "MeterValuesSampledData", "value": "Energy.Active.Import.Register"},
                ),
            ]
        )
    )
    agent = await agent_factory(csms.url)
    await agent.accepted()
    for n in range(2):
        answer = await csms.raw_answer(f"pre-boot-{n}")
        assert answer is not None and answer[0] == 3 and answer[2]["status"] == "Accepted"
    assert agent.client.settings.get("MeterValueSampleInterval") == "30"


async def test_a_stop_carries_the_id_tag_even_when_the_ev_ended_it(
    csms_factory, agent_factory: AgentFactory
) -> None:
    """OCPP.Core: a StopTransaction without idTag is compared with the start tag; with a group
    tag it is Invalid and the transaction stays open there."""
    csms = await csms_factory(Quirks(stop_without_tag_invalid=True))
    agent = await agent_factory(csms.url)
    await agent.accepted()
    await agent.start_charging(1, "CARD7")
    await csms.wait_for("StartTransaction")
    await agent.unplug(1)
    stop = (await csms.wait_for("StopTransaction"))[0]
    assert stop.payload["reason"] == "EVDisconnected"
    assert stop.payload["idTag"] == "CARD7"
    # the card is not taken as Invalid from that answer
    cached = await agent.client.cache.get("CARD7")
    assert cached is None or cached.status == "Accepted"


async def test_transaction_begin_and_end_samples_are_energy_registers_only(
    csms_factory, agent_factory: AgentFactory
) -> None:
    """Go CSMS: any Transaction.Begin/End sample overwrites meterStart/Stop, whatever its
    measurand. OCPP.Core: the last energy sample of a MeterValues is taken as the total."""
    csms = await csms_factory(Quirks())
    agent = await agent_factory(
        csms.url,
        settings={
            "StopTxnSampledData": "Current.Import,Energy.Active.Import.Register,Voltage",
            "MeterValuesSampledData": "Energy.Active.Import.Register,Current.Import,Voltage",
            "MeterValueSampleInterval": "1",
        },
    )
    await agent.accepted()
    await agent.start_charging(1, "TAG")
    await csms.wait_for("MeterValues")
    await agent.unplug(1)
    stop = (await csms.wait_for("StopTransaction"))[0]
    end = [sv for mv in stop.payload["transactionData"] for sv in mv["sampledValue"]]
    assert end and {sv["measurand"] for sv in end} == {"Energy.Active.Import.Register"}
    assert all(sv["context"] == "Transaction.End" for sv in end)
    for m in csms.calls("MeterValues"):
        for mv in m.payload["meterValue"]:
            measurands = [sv["measurand"] for sv in mv["sampledValue"]]
            assert measurands[-1] == "Energy.Active.Import.Register"


async def test_meter_values_keep_coming_while_the_ev_pauses(
    csms_factory, agent_factory: AgentFactory
) -> None:
    """Go CSMS: a transaction with no meter activity for 20 minutes is closed by its sweep."""
    csms = await csms_factory(Quirks())
    agent = await agent_factory(csms.url, settings={"MeterValueSampleInterval": "1"})
    await agent.accepted()
    await agent.start_charging(1, "TAG")
    agent.plant.set_ev_state(1, False)
    await agent.status(1, "SuspendedEV")
    before = len(csms.calls("MeterValues"))
    t0 = time.monotonic()
    await csms.wait_for("MeterValues", before + 2, within=10)
    assert agent.station.view(1).status == "SuspendedEV"
    assert time.monotonic() - t0 < 10


async def test_a_csms_that_answers_every_start_with_the_same_id(
    csms_factory, agent_factory: AgentFactory
) -> None:
    """Go CSMS (a second Start on the connector answered with the existing id) and the
    Python CSMS (always 1234): local ids keep the transactions apart."""
    csms = await csms_factory(Quirks(tx_ids=lambda _n: 1234))
    agent = await agent_factory(csms.url, connectors=2)
    await agent.accepted()
    await agent.start_charging(1, "A")
    await agent.start_charging(2, "B")
    await csms.wait_for("StartTransaction", 2)
    assert (await csms.call(call.RemoteStopTransaction(transaction_id=1234))).status == "Accepted"
    await until(
        lambda: [v.transaction is None for v in agent.station.views()].count(True) == 1,
        10,
        "one of the two stopped",
    )
    for cid in (1, 2):
        if agent.station.view(cid).transaction is not None:
            await agent.unplug(cid)
    stops = await csms.wait_for("StopTransaction", 2)
    assert [m.payload["transactionId"] for m in stops] == [1234, 1234]
    records = await agent.station.store.transactions()
    assert sorted(r.remote_id for r in records) == ["1234", "1234"]
    assert len({r.id for r in records}) == 2
