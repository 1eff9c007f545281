"""Fuzz: thousands of invalid frames against the running agent (field hardening, "what must
be shown"), under each version with that version's schemas. No crash, no dropped
connection, no invalid JSON sent, no CallResult to an invalid call, a CallError wherever
the frame's id could be read, and no state changed.

NCPA_FUZZ_FRAMES sets the count (default 3000), NCPA_FUZZ_SEED the seed.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from ocpp.routing import create_route_map
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from ncpa.ocpp.v16.charge_point import ChargePoint
from ncpa.ocpp.v201.charge_point import ChargePoint201
from tests.ocpp.conftest import Agent, AgentFactory
from tests.ocpp.contract.conftest import Peer
from tests.ocpp.frame_fuzz import FrameFuzzer

COUNT = int(os.environ.get("NCPA_FUZZ_FRAMES", "3000"))
SEED = int(os.environ.get("NCPA_FUZZ_SEED", "20261201"))


async def snapshot(peer: Peer, agent: Agent) -> dict[str, Any]:
    """What no invalid frame may change: the settings, the local list, the station."""
    if peer.version == "1.6":
        list_version = (await peer.csms.call(call16.GetLocalListVersion())).list_version
    else:
        list_version = (await peer.csms.call(call201.GetLocalListVersion())).version_number
    station = agent.station
    known, _ = agent.client.settings.report(None, peer.version)
    return {
        "settings": sorted((str(k["key"]), str(k["value"])) for k in known),
        "list_version": list_version,
        "views": [(v.status, v.transaction) for v in station.views()],
        "limits": station.limits.sources(1),
        "whitelist": await station.store.whitelist(),
        "transactions": await station.store.transactions(),
    }


def handled_actions(version: str) -> list[str]:
    cls: Any = ChargePoint if version == "1.6" else ChargePoint201
    return sorted(create_route_map(cls.__new__(cls)).keys())


async def test_invalid_frames_change_nothing_and_keep_the_line(
    peer: Peer, agent_factory: AgentFactory
) -> None:
    csms = peer.csms
    agent = await peer.agent(agent_factory)
    await agent.accepted()
    await csms.wait_for("StatusNotification", 1 if peer.version == "2.0.1" else 2)
    before = await snapshot(peer, agent)
    actions = [*handled_actions(peer.version), "BootNotification", "Heartbeat"]
    fuzzer = FrameFuzzer(peer.version, actions, SEED)
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
    after = await snapshot(peer, agent)
    assert after == before
    # every class of invalid frame was tried
    assert {"missing", "wrong_type", "unknown_field", "non_finite", "deep", "binary"} <= set(kinds)
    print(f"fuzz frames by kind ({peer.version}):", json.dumps(kinds, sort_keys=True))
