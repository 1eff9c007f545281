"""Simulated hardware: an EV model, a plant that integrates energy, and every HAL device."""

from simulator.board import build_board
from simulator.plant import Plant

__all__ = ["Plant", "build_board"]
