"""The whole charger in one process on the simulator: store, board, plant and station.

For tests, benchmarks and experiments that drive the charging core directly (the
daemon does the same wiring for real in ncpa/daemon.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from hal.board import Board
from ncpa.charging.station import ChargingStation
from ncpa.config import Config
from ncpa.events import EventBus
from ncpa.store import Store
from simulator.board import build_board
from simulator.plant import Plant


@dataclass
class SimCharger:
    config: Config
    store: Store
    board: Board
    plant: Plant
    station: ChargingStation


@asynccontextmanager
async def sim_charger(
    config: Config,
    *,
    plant: Plant | None = None,
    board_hook: Callable[[Board], None] | None = None,
    bus: EventBus | None = None,
    start: bool = True,
) -> AsyncIterator[SimCharger]:
    """Open the store, build the simulated board and the station, and start it (unless
    `start` is False: components that must hear the start-up's events subscribe first,
    then the caller starts the station). Everything is stopped and closed on the way out.

    board_hook: swap a device of the board (a misbehaving one, a timestamping wrapper).
    """
    store = await Store.open(config.data_dir)
    board, plant = build_board(config, plant)
    if board_hook is not None:
        board_hook(board)
    station = ChargingStation(config, store, board, bus or EventBus())
    try:
        if start:
            await station.start()
        yield SimCharger(config, store, board, plant, station)
    finally:
        await station.stop()
        await board.close()
        await store.close()
