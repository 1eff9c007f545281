"""Benchmark: from a status change of the charging core to the state message at a subscriber.

A real mosquitto on a loopback port (the tests' broker: user/password), the charging
core on the simulator and the MQTT service. Each step makes the simulated EV pause or
ask for energy again: t0 is when the core publishes StatusChanged on its event bus,
t1 when a separate MQTT client receives the connector's state document with the new
status (through the broker: publisher task, aiomqtt, TCP, mosquitto, TCP, aiomqtt).

    .venv/bin/python -m bench.mqtt_publish [--steps 100]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from pathlib import Path

from bench.report import Figure, median, percentile, print_table
from ncpa.events import StatusChanged
from tests.home.broker import Broker, mosquitto_binary
from tests.home.rig import PREFIX, Observer, home_rig, observer


async def first_arrival(obs: Observer, topic: str, status: str) -> float:
    """When the first state document with `status` arrived (after the last step's)."""
    start = len(obs.timeline)
    while True:
        for t, top, value in obs.timeline[start:]:
            if top == topic and isinstance(value, dict) and value.get("status") == status:
                return t
        await asyncio.sleep(0.001)


async def run(steps: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        broker = Broker.prepare(Path(tmp) / "broker")
        await broker.start()
        try:
            async with home_rig(Path(tmp), broker) as (rig, _service):
                changed: dict[str, float] = {}
                rig.station.bus.subscribe(
                    lambda e: changed.__setitem__(e.status, time.perf_counter()), StatusChanged
                )
                rig.plant.plug(1)
                await rig.until(lambda: rig.status() == "Charging")
                latencies: list[float] = []
                async with observer(broker) as obs:
                    await obs.until(lambda: obs.state().get("status") == "Charging")
                    topic = f"{PREFIX}/connector/1/state"
                    for n in range(steps):
                        want = "SuspendedEV" if n % 2 == 0 else "Charging"
                        changed.pop(want, None)
                        rig.plant.set_ev_state(1, wants_energy=want == "Charging")
                        t1 = await first_arrival(obs, topic, want)
                        latencies.append(t1 - changed[want])
                return latencies
        finally:
            broker.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args(argv)
    if mosquitto_binary() is None:
        print("  not available: mosquitto is not installed (apt-get install -y mosquitto)")
        return
    logging.disable(logging.INFO)
    ms = [v * 1000 for v in asyncio.run(run(args.steps))]
    print_table(
        "status change -> MQTT state message at a subscriber (loopback mosquitto)",
        [
            Figure("median", median(ms), "ms", f"{len(ms)} status changes"),
            Figure("p99", percentile(ms, 99), "ms"),
            Figure("max", max(ms), "ms"),
        ],
    )


if __name__ == "__main__":
    main()
