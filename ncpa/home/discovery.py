"""Home Assistant MQTT discovery: the charger as one device with its entities.

One retained config message per entity on `<discovery_prefix>/<component>/<node>/<object>/config`
(HA's per-entity discovery, understood by every HA release since 0.x). The entities read
the retained JSON state documents through `value_template`; availability comes from the
last will. Energy sensors carry device_class energy, unit kWh and state_class
total_increasing, which HA's energy dashboard needs.
"""

from __future__ import annotations

import re
from typing import Any

from ncpa.energy.settings import CHARGING_MODES
from ncpa.home.topics import OFFLINE, ONLINE, Topics

COMMANDS = ("start", "stop", "pause", "resume")


def _node(station_id: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_-]", "_", station_id)


def discovery_messages(
    topics: Topics,
    discovery_prefix: str,
    *,
    station_id: str,
    model: str,
    vendor: str,
    serial: str,
    sw_version: str,
    connector_ids: list[int],
    max_current: float,
) -> list[tuple[str, dict[str, Any]]]:
    """(topic, config payload) for every entity of the charger."""
    node = _node(station_id)
    device = {
        "identifiers": [f"ncpa_{node}"],
        "name": f"{vendor} {station_id}",
        "manufacturer": vendor,
        "model": model,
        "serial_number": serial,
        "sw_version": sw_version,
    }
    common = {
        "device": device,
        "availability_topic": topics.availability,
        "payload_available": ONLINE,
        "payload_not_available": OFFLINE,
    }
    out: list[tuple[str, dict[str, Any]]] = []

    def add(component: str, object_id: str, name: str, **config: Any) -> None:
        unique = f"ncpa_{node}_{object_id}"
        payload = {**common, "name": name, "unique_id": unique, **config}
        out.append((f"{discovery_prefix}/{component}/{node}/{object_id}/config", payload))

    def sensor(object_id: str, name: str, state_topic: str, key: str, **config: Any) -> None:
        add(
            "sensor",
            object_id,
            name,
            state_topic=state_topic,
            value_template=f"{{{{ value_json.{key} }}}}",
            **config,
        )

    amps = {"device_class": "current", "unit_of_measurement": "A", "state_class": "measurement"}
    several = len(connector_ids) > 1
    for cid in connector_ids:
        st = topics.connector_state(cid)
        p = f"c{cid}_"
        label = f"Connector {cid} " if several else ""
        sensor(p + "status", f"{label}Status", st, "status", icon="mdi:ev-station")
        for n in range(3):
            add(
                "sensor",
                f"{p}current_l{n + 1}",
                f"{label}Current L{n + 1}",
                state_topic=st,
                value_template=f"{{{{ value_json.current[{n}] }}}}",
                **amps,
            )
        sensor(p + "offered", f"{label}Offered current", st, "offered", **amps)
        sensor(p + "limit", f"{label}Current limit in force", st, "limit", **amps)
        sensor(p + "limit_source", f"{label}Limit source", st, "limitSource")
        sensor(
            p + "power", f"{label}Power", st, "power",
            device_class="power", unit_of_measurement="W", state_class="measurement",
        )  # fmt: skip
        for key, name in (("energy", "Energy"), ("sessionEnergy", "Session energy")):
            sensor(
                p + key.lower(), f"{label}{name}", st, key,
                device_class="energy", unit_of_measurement="kWh",
                state_class="total_increasing",
            )  # fmt: skip
        sensor(p + "id_tag", f"{label}Session id tag", st, "idTag", icon="mdi:card-account-details")
        sensor(
            p + "session_duration", f"{label}Session duration", st, "sessionDuration",
            device_class="duration", unit_of_measurement="s", state_class="measurement",
        )  # fmt: skip
        for key, name, cls in (
            ("plugged", "Plugged", "plug"),
            ("charging", "Charging", "battery_charging"),
            ("fault", "Fault", "problem"),
        ):
            add(
                "binary_sensor",
                p + key,
                f"{label}{name}",
                state_topic=st,
                value_template=f"{{{{ 'ON' if value_json.{key} else 'OFF' }}}}",
                payload_on="ON",
                payload_off="OFF",
                device_class=cls,
            )
        for command in COMMANDS:
            add(
                "button",
                p + command,
                f"{label}{command.capitalize()}",
                command_topic=topics.connector_command(cid),
                payload_press=command,
            )
    station = topics.station_state
    add(
        "select",
        "mode",
        "Charging mode",
        state_topic=station,
        value_template="{{ value_json.mode }}",
        command_topic=topics.set_mode,
        options=list(CHARGING_MODES),
        icon="mdi:solar-power",
    )
    add(
        "number",
        "current_limit",
        "Current limit",
        state_topic=station,
        value_template="{{ value_json.externalLimit if value_json.externalLimit is not none "
        "else " + f"{max_current:g}" + " }}",
        command_topic=topics.set_current_limit,
        min=0,
        max=max_current,
        step=1,
        mode="box",
        unit_of_measurement="A",
        device_class="current",
    )
    sensor("mode_state", "Charging mode state", station, "modeState")
    sensor("csms", "Central system", station, "csms", icon="mdi:server-network")
    for key, name in (("gridCurrents", "Grid current"), ("installationUsage", "Household")):
        for n in range(3):
            add(
                "sensor",
                f"{key.lower()}_l{n + 1}",
                f"{name} L{n + 1}",
                state_topic=station,
                value_template=(
                    f"{{{{ value_json.{key}[{n}] if value_json.{key} and "
                    f"value_json.{key}|length > {n} else none }}}}"
                ),
                **amps,
            )
    return out
