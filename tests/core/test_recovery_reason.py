"""A crash while a transaction was ending (field hardening 6): it closes with the reason
it was ending for, not as PowerLoss."""

from __future__ import annotations

import time
from pathlib import Path

from ncpa.store import Store
from simulator.plant import Plant
from tests.helpers import running_station


async def test_a_crash_during_the_stop_keeps_its_reason(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    tx = await store.open_transaction(1, "TAG", 1000.0, time.time() - 60)
    await store.record_meter(tx.id, 1500.0, time.time() - 1)
    # the EV left; the agent died before its final meter read and the close
    await store.note_stopping(tx.id, "EVDisconnected", None)
    assert (await store.transaction(tx.id)).is_open  # type: ignore[union-attr]
    await store.close()
    plant = Plant(1, 3)  # no EV plugged any more
    async with running_station(tmp_path, plant=plant) as env:
        rec = await env.store.transaction(tx.id)
        assert rec is not None and not rec.is_open
        assert rec.stop_reason == "EVDisconnected"
        assert rec.meter_stop_wh == 1500.0


async def test_the_stop_reason_is_on_disk_before_the_final_read(tmp_path: Path) -> None:
    """A live session: when the close comes, the reason was written first."""
    async with running_station(tmp_path, authentication_mode="PLUGNCHARGE") as env:
        env.plant.plug(1)
        await env.wait(lambda: env.station.view(1).transaction is not None)
        tx_id = env.station.view(1).transaction.id  # type: ignore[union-attr]
        notes: list[str] = []
        original = env.store.note_stopping

        async def spy(tx: int, reason: str, id_tag: str | None) -> None:
            await original(tx, reason, id_tag)
            rec = await env.store.transaction(tx)
            assert rec is not None and rec.is_open and rec.stop_reason == reason
            notes.append(reason)

        env.store.note_stopping = spy  # type: ignore[method-assign]
        env.plant.unplug(1)
        await env.wait(lambda: env.station.view(1).transaction is None)
        assert notes == ["EVDisconnected"]
        rec = await env.store.transaction(tx_id)
        assert rec is not None and rec.stop_reason == "EVDisconnected"
