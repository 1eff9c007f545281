"""What the daemon starts for the local API: the update trial check, then the server.

for comp in api_components(cfg, station, on_reboot=self.request_restart):
    components.append(comp)      # each has async start() / stop()
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ncpa import __version__
from ncpa.api.app import ApiServer
from ncpa.api.charging_modes import ChargingModes
from ncpa.api.energy_settings import EnergySettings
from ncpa.api.settings import from_config
from ncpa.charging.station import ChargingStation
from ncpa.config import Config
from ncpa.updates.health import UpdateHealth


def api_components(
    cfg: Config,
    station: ChargingStation,
    *,
    on_reboot: Callable[[], None],
    energy: EnergySettings | None = None,
    hotspot: Callable[[], dict[str, Any]] | None = None,
    modes: ChargingModes | None = None,
    confirm_after: float = 30.0,
) -> list[UpdateHealth | ApiServer]:
    """Raises ConfigError on a bad [local_api] section (before anything starts)."""
    settings = from_config(cfg, firmware_version=__version__)
    return [
        UpdateHealth(cfg.data_dir, on_reboot, confirm_after=confirm_after),
        ApiServer(
            station, settings, on_reboot=on_reboot, energy=energy, hotspot=hotspot, modes=modes
        ),
    ]
