"""What a socket charger without ISO 15118, a display or a firmware cache for others cannot
do (docs/ocpp.md, "What 2.0.1 messages are not supported"): a well-formed call of such an
action gets CallError NotImplemented; an action 2.0.1 does not have gets NotSupported."""

from __future__ import annotations

import json
import random

from tests.ocpp.csms201 import Csms201
from tests.ocpp.frame_fuzz import FrameFuzzer, minimal
from tests.ocpp.v201.stories import online

# CSMS -> charging station actions this station has no function for
NOT_IMPLEMENTED = [
    "CostUpdated",  # no display to show a running cost on
    "CustomerInformation",  # no customer data kept beyond the transactions (local API)
    "SetDisplayMessage",
    "GetDisplayMessages",
    "ClearDisplayMessage",
    "PublishFirmware",  # not a local firmware cache for other stations
    "UnpublishFirmware",
]


async def test_unsupported_functions_are_answered_not_implemented(
    csms: Csms201, agent_factory: object
) -> None:
    agent = await online(csms, agent_factory)  # type: ignore[arg-type]
    fuzzer = FrameFuzzer("2.0.1", NOT_IMPLEMENTED)
    rng = random.Random(1)
    for n, action in enumerate(NOT_IMPLEMENTED):
        payload = minimal(fuzzer.schema(action), rng)
        await csms.send_raw(json.dumps([2, f"ni{n}", action, payload]))
        answer = await csms.raw_answer(f"ni{n}", within=5)
        assert answer is not None and answer[0] == 4, (action, answer)
        assert answer[2] == "NotImplemented", (action, answer)
    await csms.send_raw(json.dumps([2, "ns1", "RemoteStartTransaction", {"idTag": "X"}]))
    answer = await csms.raw_answer("ns1", within=5)
    assert answer is not None and answer[2] == "NotSupported"
    assert agent.client.connected.is_set()
