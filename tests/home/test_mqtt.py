"""MQTT against a real mosquitto: state retained, Home Assistant discovery, commands and
their answers, bad payloads refused, TLS and MQTT 5, the broker killed mid-session."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import aiomqtt
import jsonschema
import pytest

from ncpa.energy.limits import EXTERNAL, MODE, PAUSE
from tests.home.broker import USER, Broker
from tests.home.proxy import Proxy
from tests.home.rig import PREFIX, home_rig, observer

SCHEMA = json.loads((Path(__file__).with_name("ha_discovery_schema.json")).read_text())


async def test_state_is_published_and_retained(tmp_path: Path, broker: Broker) -> None:
    async with home_rig(tmp_path, broker) as (rig, service):
        rig.plant.plug(1)
        await rig.until(lambda: rig.status() == "Charging")
        # a client that comes later gets the state from the broker (retained)
        async with observer(broker) as obs:
            await obs.until(lambda: obs.state().get("status") == "Charging", what="Charging")
            await obs.until(lambda: obs.state()["power"] > 0, what="power")
            doc = obs.state()
            assert doc["plugged"] is True and doc["charging"] is True and doc["fault"] is False
            assert doc["idTag"] == "LCP0001"  # plug and charge
            assert doc["offered"] == rig.offered() and doc["limitSource"]
            assert len(doc["current"]) == 3 and doc["current"][0] > 6
            assert doc["sessionEnergy"] is not None and doc["energy"] is not None
            assert obs.retained[f"{PREFIX}/availability"] == "online"
            await obs.until(lambda: "mode" in obs.station(), what="the station document")
            station = obs.station()
            assert station["mode"] == "FAST" and station["csms"] == "offline"
            await obs.until(lambda: obs.station().get("gridCurrents") is not None, what="grid")
            # a fault is published at once
            from simulator.plant import FaultKind

            rig.plant.set_fault(FaultKind.RCD, True)
            await obs.until(lambda: obs.state().get("fault") is True, what="fault")
            assert "rcd" in obs.state()["faults"] and obs.state()["status"] == "Faulted"
        await service.stop()
        # a clean stop says offline (retained)
        async with observer(broker, f"{PREFIX}/availability") as obs:
            await obs.until(lambda: obs.retained.get(f"{PREFIX}/availability") == "offline")


async def test_last_will_says_offline_when_the_link_dies(tmp_path: Path, broker: Broker) -> None:
    proxy = Proxy(broker.port)
    await proxy.start()
    try:
        async with home_rig(tmp_path, broker, port=proxy.port) as (rig, service):
            rig.plant.plug(1)
            async with observer(broker, f"{PREFIX}/availability") as obs:
                await obs.until(lambda: obs.retained.get(f"{PREFIX}/availability") == "online")
                proxy.cut()  # the TCP link dies without a DISCONNECT: the broker sends the will
                await obs.until(lambda: obs.retained.get(f"{PREFIX}/availability") == "offline")
                # and the link comes back by itself
                await obs.until(lambda: obs.retained.get(f"{PREFIX}/availability") == "online")
            await rig.until(lambda: service.link.connects == 2)
            await rig.until(lambda: rig.status() == "Charging")
    finally:
        await proxy.stop()


def _template_keys(template: str) -> list[str]:
    return re.findall(r"value_json\.(\w+)", template)


async def test_home_assistant_discovery(tmp_path: Path, broker: Broker) -> None:
    async with home_rig(tmp_path, broker) as (rig, _service):
        rig.plant.plug(1)
        await rig.until(lambda: rig.status() == "Charging")
        async with observer(broker) as obs:
            await obs.until(lambda: bool(obs.state()) and bool(obs.station()), what="state")
            await obs.until(lambda: len(_configs(obs)) == 29, what="discovery")
            configs = _configs(obs)
    by_component: dict[str, list[dict[str, Any]]] = {}
    for topic, payload in configs.items():
        _, component, node, object_id, _ = topic.split("/")
        assert node == "NCPA-0001" and re.fullmatch(r"[A-Za-z0-9_-]+", object_id)
        jsonschema.validate(payload, {**SCHEMA, "allOf": [{"$ref": f"#/$defs/{component}"}]})
        by_component.setdefault(component, []).append(payload)
        assert payload["availability_topic"] == f"{PREFIX}/availability"
        for key in ("state_topic", "command_topic"):
            if key in payload:
                assert payload[key].startswith(PREFIX + "/"), payload[key]
        # every template reads a key the state document has
        doc = obs.state() if "/connector/" in payload.get("state_topic", "") else obs.station()
        for key in _template_keys(payload.get("value_template", "")):
            assert key in doc, (topic, key, sorted(doc))
    devices = {json.dumps(p["device"], sort_keys=True) for ps in by_component.values() for p in ps}
    assert len(devices) == 1, "one device"
    unique = [p["unique_id"] for ps in by_component.values() for p in ps]
    assert len(unique) == len(set(unique))
    (mode,) = by_component["select"]
    assert mode["options"] == ["FAST", "SOLAR", "SOLAR_MIN"]
    assert mode["command_topic"] == f"{PREFIX}/set/mode"
    (limit,) = by_component["number"]
    assert limit["max"] == 32 and limit["unit_of_measurement"] == "A"
    presses = sorted(b["payload_press"] for b in by_component["button"])
    assert presses == ["pause", "resume", "start", "stop"]
    assert {b["device_class"] for b in by_component["binary_sensor"]} == {
        "plug",
        "battery_charging",
        "problem",
    }
    energy = [s for s in by_component["sensor"] if s.get("device_class") == "energy"]
    assert energy and all(s["state_class"] == "total_increasing" for s in energy)
    assert all(s["unit_of_measurement"] == "kWh" for s in energy)


def _configs(obs: Any) -> dict[str, dict[str, Any]]:
    return {t: v for t, v in obs.retained.items() if t.startswith("homeassistant/")}


async def test_commands_act_and_are_answered(tmp_path: Path, broker: Broker) -> None:
    async with home_rig(tmp_path, broker, id_tag="HOMEAUTO") as (rig, _service):
        rig.station.authorizer.mode = type(rig.station.authorizer.mode)("WHITELIST")
        await rig.station._reevaluate_all()
        async with observer(broker) as obs:
            r = await obs.command("set/mode", "SOLAR")
            assert r["ok"] and r["value"] == "SOLAR" and r["command"] == "mode"
            await obs.until(lambda: obs.station().get("mode") == "SOLAR", what="mode published")
            assert await rig.station.store.get_setting("charging_mode") == "SOLAR"
            assert (await obs.command("set/mode", "fast"))["ok"]  # case does not matter
            await rig.until(lambda: rig.station.limits.get(MODE, 1) is None)

            r = await obs.command("set/current_limit", "10")
            assert r["ok"] and r["value"] == 10.0
            assert rig.station.limits.get(EXTERNAL) == 10.0
            await obs.until(lambda: obs.station().get("externalLimit") == 10.0)

            rig.plant.plug(1)
            await rig.until(lambda: rig.status() == "Preparing")
            r = await obs.command("connector/1/set/command", "start")
            assert r["ok"] and r["value"] == "HOMEAUTO", r
            await rig.until(lambda: rig.status() == "Charging")
            assert rig.offered() == 10.0  # the external limit won
            await obs.until(lambda: obs.state().get("limitSource") == EXTERNAL)

            assert (await obs.command("connector/1/set/command", "pause"))["ok"]
            await rig.until(lambda: rig.status() == "SuspendedEVSE")
            assert rig.station.limits.get(PAUSE, 1) == 0.0
            r = await obs.command("connector/1/set/command", '{"command": "resume"}')
            assert r["ok"]
            await rig.until(lambda: rig.status() == "Charging")

            assert (await obs.command("set/current_limit", "clear"))["ok"]
            assert rig.station.limits.get(EXTERNAL) is None
            await rig.until(lambda: rig.offered() > 10.0)

            r = await obs.command("connector/1/set/command", "stop")
            assert r["ok"]
            await rig.until(lambda: rig.station.view(1).transaction is None)
            assert (await rig.station.store.transactions(limit=1))[0].id_tag == "HOMEAUTO"
            r = await obs.command("connector/1/set/command", "stop")
            assert not r["ok"] and "no session" in r["message"]


BAD = [
    ("set/mode", "TURBO"),
    ("set/mode", ""),
    ("set/mode", b"\xff\xfe"),
    ("set/current_limit", "-5"),
    ("set/current_limit", "1e9"),
    ("set/current_limit", "NaN"),
    ("set/current_limit", "ten"),
    ("set/current_limit", "[10]"),
    ("set/current_limit", "true"),
    ("set/current_limit", "9" * 2000),
    ("connector/1/set/command", "explode"),
    ("connector/1/set/command", '{"command": "start", "idTag": 7}'),
    ("connector/1/set/command", '{"command": "start", "idTag": ""}'),
    ("connector/1/set/command", '{"command": "start", "extra": 1}'),
    ("connector/1/set/command", '{"command": '),
    ("connector/1/set/command", '{"command": "start", "idTag": "' + "X" * 40 + '"}'),
    ("connector/9/set/command", "start"),
    ("set/unknown", "1"),
]


async def test_bad_payloads_are_refused_and_change_nothing(tmp_path: Path, broker: Broker) -> None:
    async with home_rig(tmp_path, broker, {"external_limit_ttl_s": 30.0}) as (rig, _service):
        rig.plant.plug(1)
        await rig.until(lambda: rig.status() == "Charging")
        async with observer(broker) as obs:
            assert (await obs.command("set/current_limit", "12"))["ok"]
            await asyncio.sleep(0.3)  # the load balancer settles on the EV's lower draw

            def ours() -> tuple[Any, ...]:  # what the commands could change (grid is the house's)
                sources = {k: v for k, v in rig.station.limits.sources(1).items() if k != "grid"}
                return sources, rig.energy.modes.mode, rig.station.limits.get(PAUSE, 1)

            before = ours()
            for topic, payload in BAD:
                r = await obs.command(topic, payload)
                assert not r["ok"], (topic, payload, r)
                assert r["message"], r
            assert ours() == before
            assert rig.offered() == 12.0
            assert rig.status() == "Charging"
            assert await rig.station.store.get_setting("charging_mode") is None
            # still answering after all that
            assert (await obs.command("set/mode", "SOLAR_MIN"))["ok"]


async def test_home_assistant_restart_gets_everything_again(tmp_path: Path, broker: Broker) -> None:
    async with home_rig(tmp_path, broker), observer(broker) as obs:
        await obs.until(lambda: len(_configs(obs)) == 29, what="discovery")
        mark = len(obs.timeline)
        await obs.client.publish("homeassistant/status", "online", qos=1)  # HA's birth

        def again() -> set[str]:
            return {t for _, t, _ in obs.timeline[mark:] if t.startswith("homeassistant/")}

        await obs.until(lambda: len(again() - {"homeassistant/status"}) == 29, what="again")
        assert f"{PREFIX}/connector/1/state" in {t for _, t, _ in obs.timeline[mark:]}


async def test_a_retained_command_is_not_obeyed(tmp_path: Path, broker: Broker) -> None:
    async with observer(broker) as obs:  # someone published with -r before the charger came
        await obs.client.publish(f"{PREFIX}/set/mode", "SOLAR", qos=1, retain=True)
        await obs.client.publish(f"{PREFIX}/set/current_limit", "7", qos=1, retain=True)
        async with home_rig(tmp_path, broker) as (rig, _service):
            await obs.until(lambda: len(obs.results()) >= 2, what="two answers")
            assert all(not r["ok"] and "retained" in r["message"] for r in obs.results())
            assert rig.energy.modes.mode == "FAST"
            assert rig.station.limits.get(EXTERNAL) is None
            # not retained: obeyed
            assert (await obs.command("set/mode", "SOLAR"))["ok"]
        await obs.client.publish(f"{PREFIX}/set/mode", b"", qos=1, retain=True)  # clean up
        await obs.client.publish(f"{PREFIX}/set/current_limit", b"", qos=1, retain=True)


async def test_external_limit_expires_unless_refreshed(tmp_path: Path, broker: Broker) -> None:
    async with home_rig(tmp_path, broker, {"external_limit_ttl_s": 0.6}) as (rig, _service):
        rig.plant.plug(1)
        await rig.until(lambda: rig.status() == "Charging")
        free = rig.offered()
        async with observer(broker) as obs:
            for _ in range(3):  # refreshed: stays
                assert (await obs.command("set/current_limit", "8"))["ok"]
                await asyncio.sleep(0.3)
                assert rig.station.limits.get(EXTERNAL) == 8.0
            await rig.until(lambda: rig.station.limits.get(EXTERNAL) is None, timeout=2)
            await rig.until(lambda: rig.offered() == free)


async def test_tls_and_mqtt5(tmp_path: Path, broker: Broker) -> None:
    async with home_rig(
        tmp_path, broker, port=broker.tls_port, tls=True, ca_file=str(broker.ca_file), protocol="5"
    ) as (rig, service):
        rig.plant.plug(1)
        async with observer(broker) as obs:
            await obs.until(lambda: obs.state().get("status") == "Charging", what="over TLS")
            assert (await obs.command("set/mode", "SOLAR_MIN"))["ok"]
        assert service.link.connects == 1


async def test_wrong_password_or_no_broker_never_touches_charging(
    tmp_path: Path, broker: Broker
) -> None:
    async with home_rig(tmp_path, broker, connected=False, password="wrong") as (rig, service):
        rig.plant.plug(1)
        await rig.until(lambda: rig.status() == "Charging")
        free = rig.offered()
        await asyncio.sleep(0.5)
        assert service.link.connects == 0 and not service.link.connected
        assert rig.status() == "Charging" and rig.offered() == free


async def test_tls_with_an_unknown_ca_does_not_connect(tmp_path: Path, broker: Broker) -> None:
    async with home_rig(tmp_path, broker, connected=False, port=broker.tls_port, tls=True) as (
        rig,
        service,
    ):
        rig.plant.plug(1)
        await rig.until(lambda: rig.status() == "Charging")
        await asyncio.sleep(0.5)  # the system's CAs do not know the test root
        assert service.link.connects == 0


async def test_broker_killed_mid_session(tmp_path: Path, broker: Broker) -> None:
    async with home_rig(tmp_path, broker) as (rig, service):
        rig.plant.plug(1)
        await rig.until(lambda: rig.status() == "Charging")
        async with observer(broker) as obs:
            await obs.until(lambda: obs.state().get("status") == "Charging")
        wh = rig.plant.connectors[1].energy_wh
        broker.kill()
        await rig.until(lambda: not service.link.connected)
        # charging goes on; the state changes while nobody listens
        rig.station.limits.set("csms", 10.0)
        await rig.until(lambda: rig.offered() == 10.0)
        await asyncio.sleep(1.0)  # reconnects fail meanwhile, with backoff
        assert rig.status() == "Charging"
        assert rig.plant.connectors[1].energy_wh > wh
        assert service.link.connects == 1
        await broker.start()  # no persistence: the broker knows nothing any more
        await rig.until(lambda: service.link.connects == 2, timeout=5)
        async with observer(broker) as obs:
            await obs.until(lambda: obs.state().get("offered") == 10.0, what="republished")
            assert obs.state()["status"] == "Charging"
            assert obs.retained[f"{PREFIX}/availability"] == "online"
            await obs.until(lambda: any(t.startswith("homeassistant/") for t in obs.retained))
            assert (await obs.command("set/mode", "SOLAR_MIN"))["ok"]


async def test_settings_are_checked() -> None:
    from ncpa.config import ConfigError, load
    from ncpa.home.settings import parse_mqtt_settings

    def parse(mqtt: dict[str, Any]) -> Any:
        cfg = load(None, {"simulated": True})
        from dataclasses import replace

        return parse_mqtt_settings(replace(cfg, raw={"mqtt": mqtt}))

    s = parse({"host": "127.0.0.1"})
    assert s.enabled and s.topic_prefix == "ncpa/NCPA-0001" and s.client_id == "ncpa-NCPA-0001"
    assert not parse({}).enabled
    for bad in (
        {"host": "h", "port": 0},
        {"host": "h", "protocol": "4"},
        {"host": "h", "topic_prefix": "a/#"},
        {"host": "h", "topic_prefix": "/a"},
        {"host": "h", "tls": "yes"},
        {"host": "h", "password": "x"},
        {"host": "h", "ca_file": "/x"},
        {"host": "h", "colour": "red"},
        {"host": "h", "password_file": "/nonexistent/file", "username": USER},
        {"host": "h", "tls": True, "ca_file": "/nonexistent/ca.pem"},
        {"host": "h", "tls": True, "cert_file": "/etc/hostname"},  # no key_file
    ):
        with pytest.raises(ConfigError):
            parse(bad)


async def test_observer_sanity(broker: Broker) -> None:
    """The test broker refuses anonymous clients (so the tests above test user/password)."""
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client("127.0.0.1", broker.port, timeout=2):
            pass
