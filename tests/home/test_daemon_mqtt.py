"""The daemon itself (`ncpa run --sim` in a process) with [mqtt]: wired to the broker,
state and discovery published, a mode set over MQTT persisted across a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.home.broker import PASSWORD, USER, Broker
from tests.home.rig import observer
from tests.integration.agent import Agent

PREFIX = "ncpa/NCPA-IT-0001"


async def test_daemon_publishes_and_obeys(tmp_path: Path, broker: Broker) -> None:
    extra = f"""
[mqtt]
host = "127.0.0.1"
port = {broker.port}
username = "{USER}"
password = "{PASSWORD}"
backoff_min_s = 0.2
backoff_max_s = 1.0
"""
    agent = Agent(tmp_path, extra=extra)
    await asyncio.to_thread(agent.start)
    try:
        async with observer(broker, f"{PREFIX}/#", "homeassistant/#") as obs:
            await obs.until(lambda: obs.retained.get(f"{PREFIX}/availability") == "online")
            await asyncio.to_thread(agent.post, "/sim/connectors/1/plug", {})
            state = f"{PREFIX}/connector/1/state"
            await obs.until(
                lambda: (obs.retained.get(state) or {}).get("status") == "Charging",
                timeout=10,
                what="Charging over MQTT",
            )
            assert any(t.startswith("homeassistant/select/NCPA-IT-0001/") for t in obs.retained)
            await obs.client.publish(f"{PREFIX}/set/mode", "SOLAR_MIN", qos=1)
            await obs.until(
                lambda: (obs.retained.get(f"{PREFIX}/state") or {}).get("mode") == "SOLAR_MIN"
            )
        await asyncio.to_thread(agent.stop)
        await asyncio.to_thread(agent.start)
        async with observer(broker, f"{PREFIX}/#") as obs:
            await obs.until(
                lambda: (obs.retained.get(f"{PREFIX}/state") or {}).get("mode") == "SOLAR_MIN",
                what="the mode after a restart",
            )
    finally:
        await asyncio.to_thread(agent.stop)
