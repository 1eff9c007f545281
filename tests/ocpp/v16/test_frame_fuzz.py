"""Fuzz: thousands of invalid frames against the running agent (field hardening, "what must
be shown"). No crash, no dropped connection, no invalid JSON sent, no CallResult to an
invalid call, a CallError wherever the frame's id could be read, and no state changed.

NCPA_FUZZ_FRAMES sets the count (default 3000), NCPA_FUZZ_SEED the seed.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from ocpp.routing import create_route_map
from ocpp.v16 import call

from ncpa.ocpp.v16.charge_point import ChargePoint
from tests.ocpp.conftest import Agent, AgentFactory
from tests.ocpp.csms import Csms
from tests.ocpp.frame_fuzz import FrameFuzzer

COUNT = int(os.environ.get("NCPA_FUZZ_FRAMES", "3000"))
SEED = int(os.environ.get("NCPA_FUZZ_SEED", "20261201"))


async def snapshot(csms: Csms, agent: Agent) -> dict[str, Any]:
    config = await csms.call(call.GetConfiguration())
    version = await csms.call(call.GetLocalListVersion())
    station = agent.station
    return {
        "config": sorted((k["key"], k.get("value")) for k in config.configuration_key),
        "list_version": version.list_version,
        "views": [(v.status, v.transaction) for v in station.views()],
        "limits": station.limits.sources(1),
        "whitelist": await station.store.whitelist(),
        "transactions": await station.store.transactions(),
    }


def handled_actions() -> list[str]:
    return sorted(create_route_map(ChargePoint.__new__(ChargePoint)).keys())


async def test_invalid_frames_change_nothing_and_keep_the_line(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await agent_factory(csms.url)
    await agent.accepted()
    await csms.wait_for("StatusNotification", 2)
    before = await snapshot(csms, agent)
    fuzzer = FrameFuzzer("1.6", [*handled_actions(), "BootNotification", "Heartbeat"], SEED)
    frames = fuzzer.frames(COUNT)
    kinds: dict[str, int] = {}
    for fz in frames:
        kinds[fz.kind.split(":")[-1]] = kinds.get(fz.kind.split(":")[-1], 0) + 1
        await csms.send_raw(fz.frame)
        if fz.unique_id is not None:
            answer = await csms.raw_answer(fz.unique_id, within=5)
            assert answer is not None, f"no answer to {fz.kind}: {str(fz.frame)[:200]}"
            assert answer[0] == 4, f"{fz.kind} got a CallResult: {str(fz.frame)[:200]}"
        assert agent.client.connected.is_set(), f"connection lost after {fz.kind}"
    await asyncio.sleep(0.2)  # answers to frames we did not wait for
    ids = {fz.unique_id for fz in frames}
    results = [a for a in csms.answers() if a[0] == 3 and a[1] in ids]
    assert results == []
    assert csms.invalid_json == []
    assert csms.connections == 1
    after = await snapshot(csms, agent)
    assert after == before
    # every class of invalid frame was tried
    assert {"missing", "wrong_type", "unknown_field", "non_finite", "deep", "binary"} <= set(kinds)
    print("fuzz frames by kind:", json.dumps(kinds, sort_keys=True))
