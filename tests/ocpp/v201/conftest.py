from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.ocpp.csms import Quirks
from tests.ocpp.csms201 import Csms201


@pytest.fixture
async def csms201_factory() -> AsyncIterator[Callable[..., Awaitable[Csms201]]]:
    servers: list[Csms201] = []

    async def make(quirks: Quirks | None = None, **kw: Any) -> Csms201:
        if quirks is not None and quirks.subprotocols == ["ocpp1.6"]:
            quirks.subprotocols = ["ocpp2.0.1"]
        c = await Csms201(quirks, **kw).start()
        servers.append(c)
        return c

    yield make
    for c in servers:
        await c.stop()


@pytest.fixture
async def csms(csms201_factory: Callable[..., Awaitable[Csms201]]) -> Csms201:
    return await csms201_factory()


@pytest.fixture
async def csms_on_port() -> AsyncIterator[Callable[[int], Awaitable[Csms201]]]:
    """Start a v201 CSMS on a given port (an outage, then the CSMS again). Ask for this
    fixture before `agent_factory`: it stops its CSMSs after the agents have stopped."""
    servers: list[Csms201] = []

    async def start(port: int) -> Csms201:
        c = await Csms201(Quirks(subprotocols=["ocpp2.0.1"])).start(port)
        servers.append(c)
        return c

    yield start
    for c in servers:
        await c.stop()
