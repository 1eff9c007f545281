"""The one place that wires the agent together and runs it until a signal."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from hal.board import Board
from ncpa import __version__, clock
from ncpa.api.csms_link import CsmsLink
from ncpa.api.page_services import PageOptions
from ncpa.api.settings import from_config as api_settings
from ncpa.api.wiring import api_components
from ncpa.charging.states import StopReason
from ncpa.charging.station import ChargingStation
from ncpa.config import Config, ConfigError
from ncpa.datadir_lock import DataDirLock
from ncpa.energy.api_settings import ManagedEnergySettings
from ncpa.energy.manager import EnergyManager
from ncpa.events import EventBus
from ncpa.home.settings import csms_state, parse_mqtt_settings
from ncpa.hotspot_service import HotspotService, parse_hotspot_settings
from ncpa.log import get_logger
from ncpa.store import Store
from ncpa.systemd import notify, watchdog_interval, watchdog_loop
from ncpa.updates.firmware_installer import bundle_installer

log = get_logger(__name__)

SIM_HINT = """
  Simulated charger ready. Simulator control: http://127.0.0.1:{port}/sim
  In another terminal (. .venv/bin/activate; add --url http://127.0.0.1:{port} if not 8081):
    ncpa-sim plug       an EV plugs in        ncpa-sim watch     live view
    ncpa-sim ev pause   the EV pauses         ncpa-sim ev charge asks for energy again
    ncpa-sim tap UID    a card at the reader  ncpa-sim unplug    ends the transaction
    ncpa-sim fault rcd on|off                 ncpa transactions --config demo/ncpa.toml
"""


class Component(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


async def build_board(config: Config) -> tuple[Board, Any]:
    """The simulator's board with --sim, otherwise the real drivers from [hardware]."""
    if config.simulated:
        from simulator.board import build_board as build_sim_board

        return build_sim_board(config)
    try:
        from hal.drivers.build import build_board as build_real_board  # type: ignore[import-not-found,unused-ignore]
    except ImportError as e:
        raise ConfigError("hardware: no hardware drivers in this build; run with --sim") from e
    board: Board = await build_real_board(config)
    return board, None


def agent_view(station: ChargingStation) -> Callable[[], Awaitable[dict[str, Any]]]:
    """The agent's own view, for the simulator's GET /sim/agent (developer tooling)."""

    async def view() -> dict[str, Any]:
        conns = []
        for v in station.views():
            tx = v.transaction
            conns.append(
                {
                    "id": v.connector_id,
                    "status": v.status,
                    "error_code": v.error_code,
                    "operative": v.operative,
                    "offered_current": v.offered_a,
                    "limit": {"amps": v.limit.amps, "source": v.limit.source},
                    "limit_sources": station.limits.sources(v.connector_id),
                    "faults": sorted(v.faults),
                    "transaction": None if tx is None else _tx_dict(tx),
                }
            )
        recent = await station.store.transactions(limit=10)
        return {
            "auth_mode": station.auth_mode,
            "lock_mode": str(station.lock_mode),
            "connectors": conns,
            "recent_transactions": [_tx_dict(t) for t in recent],
        }

    return view


def _tx_dict(tx: Any) -> dict[str, Any]:
    return {
        "id": tx.id,
        "connector_id": tx.connector_id,
        "id_tag": tx.id_tag,
        "start_ts": tx.start_ts,
        "meter_start_wh": tx.meter_start_wh,
        "stop_ts": tx.stop_ts,
        "meter_stop_wh": tx.meter_stop_wh,
        "stop_reason": tx.stop_reason,
        "remote_id": tx.remote_id,
        "consumed_wh": tx.consumed_wh,
    }


class Daemon:
    def __init__(self, config: Config) -> None:
        self.config = config
        self._stop = asyncio.Event()
        self._restart = False
        self.station: ChargingStation | None = None
        self.sim_port: int | None = None
        # the OCPP client's note of why the next start happens (when a CSMS is configured)
        self._note_restart: Callable[[str], None] | None = None

    def request_stop(self) -> None:
        self._stop.set()

    def request_restart(self) -> None:
        """A clean restart (the API's /config/reboot, OCPP Reset): stop, then exec again."""
        self._restart = True
        self._stop.set()

    def _local_reboot(self) -> None:
        """The local API's reboot: the next BootNotification says LocalReset."""
        if self._note_restart is not None:
            self._note_restart("LocalReset")
        self.request_restart()

    def _components(
        self, cfg: Config, store: Store, board: Board, plant: Any, station: ChargingStation
    ) -> tuple[list[Component], Any]:
        """Everything around the station, in start order. Raises ConfigError."""
        components: list[Component] = []
        sim_grid = None
        control = None
        if plant is not None:
            from simulator.control import ControlServer
            from simulator.grid import SimGridMeter, add_grid_routes
            from simulator.pv import add_pv_routes

            sim_grid = SimGridMeter([c.meter for c in board.connectors], phases=cfg.station.phases)
            control = ControlServer(plant, cfg.sim.port, agent_view(station))
            add_grid_routes(control.app, sim_grid)
            add_pv_routes(control.app, sim_grid.pv)
            components.append(control)
        energy = EnergyManager(station, board, cfg, grid_meter=sim_grid)
        components.append(energy)
        hotspot = self._hotspot(cfg)
        if hotspot is not None:
            components.append(hotspot)
        csms = CsmsLink(configured=bool(cfg.ocpp.csms_url))  # the web page's CSMS state
        # read when the API starts (after every component is built): the OCPP client below
        # may still fill in what it offers the page
        page = PageOptions(csms=csms)
        components += api_components(
            cfg,
            station,
            on_reboot=self._local_reboot,
            energy=ManagedEnergySettings(store, energy),
            hotspot=hotspot.status if hotspot is not None else None,
            page=page,
            modes=energy.modes,
        )
        csms_link: asyncio.Event | None = None  # set while the OCPP client is connected
        if cfg.ocpp.csms_url:
            from ncpa.ocpp.client import OcppClient

            ocpp = OcppClient(station, cfg)  # checks [ocpp]'s own options: ConfigError
            ocpp.on_reset = lambda kind: self.request_restart()
            self._note_restart = ocpp.note_restart
            csms.attach(ocpp.connected)
            page.frame_trace = ocpp.frame_trace  # the API's trace switch is the client's
            api = api_settings(cfg, firmware_version=__version__)
            ocpp.firmware.installer = bundle_installer(
                cfg.data_dir, api.vendor_key_path(), api.health_timeout, self.request_restart
            )
            ocpp.firmware.reboots = True  # into the new release slot
            components.append(ocpp)
            csms_link = ocpp.connected
        mqtt = parse_mqtt_settings(cfg)  # a bad [mqtt] section: ConfigError before the start
        if mqtt.enabled:
            from ncpa.home.service import MqttService

            components.append(
                MqttService(
                    mqtt, station, energy, csms=csms_state(csms_link), sw_version=__version__
                )
            )
        return components, control

    @staticmethod
    def _hotspot(cfg: Config) -> HotspotService | None:
        settings = parse_hotspot_settings(cfg)
        if cfg.simulated:
            from simulator.hotspot import SimHotspot

            return HotspotService(SimHotspot(), settings)
        from hal.drivers.build import build_hotspot

        backend = build_hotspot(cfg)
        return HotspotService(backend, settings) if backend is not None else None

    async def _shutdown(self, station: ChargingStation, started: list[Component]) -> None:
        notify("STOPPING=1")
        log.info("ncpa.stopping", restart=self._restart)
        # the station first: transactions end (OCPP still hears of it) and nothing a
        # component does while stopping (a limit removed) can close a contactor again
        await station.stop(StopReason.REBOOT)
        for comp in reversed(started):
            try:
                await comp.stop()
            except Exception:
                log.exception("component.stop_failed", component=type(comp).__name__)

    async def run(self) -> int:
        t0 = time.monotonic()
        cfg = self.config
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        async with contextlib.AsyncExitStack() as stack:
            # each resource is released even when a later one fails to come up
            lock = DataDirLock(cfg.data_dir)
            lock.acquire()  # a second agent on this data_dir stops here, with one line
            stack.callback(lock.release)
            # the clock's settings first (a config error before anything opens); a real
            # charger waits, bounded, for time sync before the station runs
            clock_settings = clock.parse_settings(cfg)
            if cfg.simulated:
                clock_settings = clock.ClockSettings(wait_for_sync=0, sync_source="system")
            store = await Store.open(cfg.data_dir)
            stack.push_async_callback(store.close)
            board, plant = await build_board(cfg)  # wiring errors first: one line, exit 2
            stack.push_async_callback(board.close)
            clk = clock.configure(clock_settings)
            if not clk.trusted():
                notify("STATUS=waiting for the clock to be synchronized")
            await clk.wait_for_sync(clock_settings.wait_for_sync)
            station = ChargingStation(cfg, store, board, EventBus())
            self.station = station
            components, control = self._components(cfg, store, board, plant, station)
            started: list[Component] = []
            stack.push_async_callback(self._shutdown, station, started)
            await station.start()
            for comp in components:
                await comp.start()
                started.append(comp)
            if control is not None:
                self.sim_port = control.port
            wd = watchdog_interval()
            if wd:
                watchdog = asyncio.create_task(watchdog_loop(wd), name="watchdog")
                stack.callback(watchdog.cancel)
            notify("READY=1")
            log.info(
                "ncpa.ready",
                version=__version__,
                id=cfg.station.id,
                seconds=round(time.monotonic() - t0, 3),
                data_dir=str(cfg.data_dir),
                simulator=f"http://127.0.0.1:{self.sim_port}/sim" if self.sim_port else None,
                csms=cfg.ocpp.csms_url or "offline",
            )
            if self.sim_port:
                print(SIM_HINT.format(port=self.sim_port), file=sys.stderr, flush=True)
            await self._stop.wait()
        log.info("ncpa.stopped")
        if self._restart:
            # the command line this process was started with: through the launcher when the
            # unit started it, so that the restart is counted and checked like any start
            os.execv(sys.executable, list(sys.orig_argv))
        return 0
