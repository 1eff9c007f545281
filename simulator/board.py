"""Build a HAL board out of the simulator's devices."""

from __future__ import annotations

from hal.board import Board, ConnectorDevices
from ncpa.config import Config
from simulator.devices import (
    SimChargeController,
    SimContactor,
    SimInput,
    SimLock,
    SimMeter,
    SimPhaseSwitch,
    SimRfid,
    SimShunt,
)
from simulator.ev import EvModel
from simulator.plant import Plant


def build_board(config: Config, plant: Plant | None = None) -> tuple[Board, Plant]:
    st, sim = config.station, config.sim
    if plant is None:
        ev = EvModel(
            capacity_wh=sim.ev_capacity_kwh * 1000.0,
            soc=sim.ev_initial_soc,
            max_current_a=sim.ev_max_current,
            phases=sim.ev_phases,
        )
        plant = Plant(st.connectors, st.phases, ev)
    connectors = [
        ConnectorDevices(
            connector_id=cid,
            evcc=SimChargeController(plant, cid),
            meter=SimMeter(plant, cid),
            contactor=SimContactor(plant, cid),
            lock=SimLock(plant, cid) if st.has_lock else None,
            phase_switch=SimPhaseSwitch(plant, cid) if sim.phase_switch else None,
        )
        for cid in sorted(plant.connectors)
    ]
    board = Board(
        connectors=connectors,
        shunt=SimShunt(plant),
        rfid=SimRfid(plant),
        inputs={name: SimInput(plant, name) for name in plant.inputs},
    )
    return board, plant
