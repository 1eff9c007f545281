"""The simulated charger with its energy manager and the MQTT service, and an observer
client on the same broker that keeps what it receives."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiomqtt

from ncpa.home.service import MqttService
from ncpa.home.settings import MqttSettings
from tests.energy.sim_station import Rig, sim_station
from tests.home.broker import PASSWORD, USER, Broker

PREFIX = "ncpa/NCPA-0001"


def settings_for(broker: Broker, **overrides: Any) -> MqttSettings:
    base = MqttSettings(
        host="127.0.0.1",
        port=broker.port,
        username=USER,
        password=PASSWORD,
        client_id="ncpa-NCPA-0001",
        topic_prefix=PREFIX,
        backoff_min_s=0.1,
        backoff_max_s=0.5,
        keepalive=5,
        meter_interval_s=0.2,
    )
    return replace(base, **overrides)


@dataclass
class Observer:
    client: aiomqtt.Client
    retained: dict[str, Any] = field(default_factory=dict)  # topic -> newest payload
    messages: list[tuple[str, Any]] = field(default_factory=list)
    timeline: list[tuple[float, str, Any]] = field(default_factory=list)  # (perf_counter, ..)

    def on(self, topic: str, payload: bytes) -> None:
        text = payload.decode(errors="replace")  # our own bad commands come back too
        try:
            value: Any = json.loads(text)
        except ValueError:
            value = text
        self.retained[topic] = value
        self.messages.append((topic, value))
        self.timeline.append((time.perf_counter(), topic, value))

    def state(self, cid: int = 1) -> dict[str, Any]:
        return dict(self.retained.get(f"{PREFIX}/connector/{cid}/state") or {})

    def station(self) -> dict[str, Any]:
        return dict(self.retained.get(f"{PREFIX}/state") or {})

    def results(self) -> list[dict[str, Any]]:
        return [v for t, v in self.messages if t == f"{PREFIX}/result"]

    async def until(self, cond: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                raise AssertionError(f"not reached: {what}")
            await asyncio.sleep(0.01)

    async def command(self, topic: str, payload: str | bytes) -> dict[str, Any]:
        """Publish a command and wait for its answer on the result topic."""
        before = len(self.results())
        await self.client.publish(f"{PREFIX}/{topic}", payload, qos=1)
        await self.until(lambda: len(self.results()) > before, what=f"a result for {topic}")
        return self.results()[before]


@asynccontextmanager
async def observer(broker: Broker, *topics: str) -> AsyncIterator[Observer]:
    async with aiomqtt.Client(
        "127.0.0.1", broker.port, username=USER, password=PASSWORD, identifier=None
    ) as client:
        obs = Observer(client)
        for topic in topics or (f"{PREFIX}/#", "homeassistant/#"):
            await client.subscribe(topic, qos=1)

        async def receive() -> None:
            async for message in client.messages:
                payload = message.payload
                assert isinstance(payload, bytes)
                obs.on(str(message.topic), payload)

        task = asyncio.create_task(receive())
        try:
            yield obs
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await task


@asynccontextmanager
async def home_rig(
    tmp: Path,
    broker: Broker,
    energy: dict[str, Any] | None = None,
    *,
    connected: bool = True,  # wait until the service is connected (and subscribed)
    **mqtt: Any,
) -> AsyncIterator[tuple[Rig, MqttService]]:
    async with sim_station(tmp, household=(1.0, 1.0, 1.0), **(energy or {})) as rig:
        service = MqttService(
            settings_for(broker, **mqtt),
            rig.station,
            rig.energy,
            csms=lambda: "offline",
            sw_version="test",
        )
        await service.start()
        try:
            if connected:
                await rig.until(lambda: service.link.connected, timeout=5)
            yield rig, service
        finally:
            await service.stop()
