"""Helpers for the C, D and H stories (authorization, local list, reservation) over 2.0.1."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from ocpp.v201 import call

from tests.ocpp.conftest import Agent, AgentFactory, until
from tests.ocpp.csms import Csms
from tests.ocpp.csms201 import Csms201
from tests.ocpp.v201.stories import online
from tests.ports import free_port

StartOn = Callable[[int], Awaitable[Csms201]]


async def online_on_port(
    start_on: StartOn, agent_factory: AgentFactory, **kw: Any
) -> tuple[int, Csms201, Agent]:
    """An agent online with a CSMS on a port of its own (to stop it, then start another)."""
    port = free_port()
    csms = await start_on(port)
    return port, csms, await online(csms, agent_factory, **kw)


async def go_offline(csms: Csms, agent: Agent) -> None:
    await csms.stop()
    await until(lambda: not agent.client.connected.is_set(), 5, "offline")


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def token(value: str, kind: str = "ISO14443") -> dict[str, str]:
    return {"id_token": value, "type": kind}


async def set_variable(csms: Csms, component: str, variable: str, value: str) -> str:
    res = await csms.call(
        call.SetVariables(
            set_variable_data=[
                {
                    "attribute_value": value,
                    "component": {"name": component},
                    "variable": {"name": variable},
                }
            ]
        )
    )
    return str(res.set_variable_result[0]["attribute_status"])


def started(csms: Csms) -> list[dict[str, Any]]:
    events = [m.payload for m in csms.calls("TransactionEvent")]
    return [e for e in events if e["eventType"] == "Started"]


async def wait_started(csms: Csms, within: float = 10) -> dict[str, Any]:
    msgs = await csms.wait_for(
        "TransactionEvent", pred=lambda m: m.payload["eventType"] == "Started", within=within
    )
    return msgs[0].payload


async def wait_ended(csms: Csms, within: float = 10) -> dict[str, Any]:
    msgs = await csms.wait_for(
        "TransactionEvent", pred=lambda m: m.payload["eventType"] == "Ended", within=within
    )
    return msgs[0].payload


async def wait_status(csms: Csms, evse: int, status: str, count: int = 1) -> None:
    await csms.wait_for(
        "StatusNotification",
        count,
        pred=lambda m: m.payload["evseId"] == evse and m.payload["connectorStatus"] == status,
    )


def no_transaction(agent: Agent, cid: int = 1) -> bool:
    view = agent.station.view(cid)
    return view.transaction is None and view.status != "Charging"
