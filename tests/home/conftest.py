from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.home.broker import SKIP_REASON, Broker, mosquitto_binary


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[Broker]:
    if mosquitto_binary() is None:
        pytest.skip(SKIP_REASON)
    b = Broker.prepare(tmp_path / "broker")
    await b.start()
    try:
        yield b
    finally:
        b.stop()
