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
from ncpa.api.page_services import PageOptions
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
    page: PageOptions | None = None,
    modes: ChargingModes | None = None,
    confirm_after: float | None = None,  # None: [local_api] confirm_after
) -> list[UpdateHealth | ApiServer]:
    """Raises ConfigError on a bad [local_api] section (before anything starts)."""
    settings = from_config(cfg, firmware_version=__version__)
    page = page or PageOptions()
    if cfg.simulated and page.simulator_url is None:  # the web page's simulator panel
        page.simulator_url = f"http://127.0.0.1:{cfg.sim.port}"
    return [
        UpdateHealth(
            cfg.data_dir,
            on_reboot,
            confirm_after=settings.confirm_after if confirm_after is None else confirm_after,
        ),
        ApiServer(
            station,
            settings,
            on_reboot=on_reboot,
            energy=energy,
            hotspot=hotspot,
            page=page,
            modes=modes,
        ),
    ]
