"""B: OCPPCommCtrlr.RetryBackOff* as the reconnect delays of 2.0.1: WaitMinimum doubled
RepeatTimes times at most, plus a random part up to RandomRange, changeable over OCPP."""

from __future__ import annotations

import random

from ocpp.v201 import call

from ncpa.ocpp.backoff import RetryBackOff, doublings
from tests.ocpp.conftest import AgentFactory
from tests.ocpp.csms201 import Csms201
from tests.ocpp.v201.stories import online


def test_the_delays_double_then_stay() -> None:
    b = RetryBackOff(lambda: 3, lambda: 2, lambda: 0, random.Random(1))
    assert [b.next() for _ in range(5)] == [3, 6, 12, 12, 12]
    b.reset()
    assert b.next() == 3
    jitter = RetryBackOff(lambda: 3, lambda: 2, lambda: 5, random.Random(1))
    for base in (3, 6, 12, 12):
        assert base <= jitter.next() <= base + 5
    assert doublings(2, 300) == 8  # the config file's defaults: 2 s up to 5 minutes


def _comm(name: str, value: str | None = None) -> dict[str, object]:
    entry: dict[str, object] = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": name}}
    if value is not None:
        entry["attribute_value"] = value
    return entry


async def test_set_over_ocpp_and_used_for_the_next_attempt(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    res = await csms.call(
        call.SetVariables(
            set_variable_data=[
                _comm("RetryBackOffWaitMinimum", "7"),
                _comm("RetryBackOffRepeatTimes", "1"),
                _comm("RetryBackOffRandomRange", "0"),
                _comm("RetryBackOffWaitMinimum", "0"),  # at least a second
            ]
        )
    )
    statuses = [r["attribute_status"] for r in res.set_variable_result]
    assert statuses == ["Accepted", "Accepted", "Accepted", "Rejected"]
    got = await csms.call(call.GetVariables(get_variable_data=[_comm("RetryBackOffWaitMinimum")]))
    assert got.get_variable_result[0]["attribute_value"] == "7"
    backoff = agent.client._backoff
    backoff.reset()
    assert [backoff.next() for _ in range(3)] == [7, 14, 14]
