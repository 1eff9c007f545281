"""EnergyManager: the energy components of the agent, started and stopped as one.

It builds the grid meter that the `load_shedding` setting selects, runs the
load balancer (source "grid"), the tariff (source "tariff") and the local
schedule (source "schedule"), follows the energy settings in the store, and
answers the local API: pushed grid currents, grid currents, installationUsage
and the explanation of the limit in force.

Wiring (ncpa/daemon.py):
    energy = EnergyManager(station, board, config, grid_meter=sim_grid_or_None)
    await energy.start() ... await energy.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from hal.board import Board
from hal.errors import DeviceError
from hal.grid import GridMeter, GridReading
from hal.grid_pushed import PushedGrid
from ncpa.config import Config
from ncpa.energy.charging_mode import ChargingModeSource
from ncpa.energy.explain import explain_limit, rounded
from ncpa.energy.external_limit import ExternalLimit
from ncpa.energy.load_balancer import GridBalancer
from ncpa.energy.local_schedule import ScheduleSource, local_zone
from ncpa.energy.settings import (
    KEY_CHARGING_MODE,
    KEY_GRID_CURRENTS,
    KEY_GRID_MAX_CURRENT,
    KEY_LOAD_SHEDDING,
    KEY_ON_OFF_PEAK,
    EnergyConfig,
    check_charging_mode,
    check_grid_max_current,
    check_load_shedding,
    check_on_off_peak,
    parse_energy_config,
)
from ncpa.energy.station_api import StationInfo
from ncpa.energy.tariff import TariffSource
from ncpa.energy.tasks import cancel
from ncpa.log import get_logger

log = get_logger(__name__)

SETTINGS_POLL_S = 2.0  # the API writes settings; they take effect within this


class GridModeError(ValueError):
    """Grid currents pushed while a meter measures them (load shedding is not NO)."""


class UnavailableMeter:
    """Stands in for a meter that could not be set up: always lost (the safe current)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    @property
    def period_s(self) -> float:
        return 1.0

    async def read(self) -> GridReading:
        await asyncio.sleep(1.0)
        raise DeviceError(self.reason)

    def latest(self) -> GridReading | None:
        return None

    async def close(self) -> None:
        return None


def build_grid_meter(mode: str, cfg: EnergyConfig, phases: int) -> GridMeter | None:
    """The real backend of a load-shedding mode (None for NO)."""
    if mode == "P1":
        from hal.grid_p1 import P1Meter

        return P1Meter(
            cfg.p1_port,
            baudrate=cfg.p1_baudrate or None,
            version=cfg.p1_version,
            phases=phases,
            low_tariff_code=cfg.p1_low_tariff_code or None,
        )
    if mode in ("XEMEX_BLACK", "XEMEX_9600"):
        from hal.grid_xemex import BAUDRATES, RegisterMap, XemexMeter

        return XemexMeter(
            cfg.xemex_port,
            baudrate=cfg.xemex_baudrate or BAUDRATES[mode],
            parity=cfg.xemex_parity,
            device_id=cfg.xemex_device_id,
            registers=RegisterMap(cfg.xemex_function, cfg.xemex_address, cfg.xemex_format, phases),
            interval_s=cfg.xemex_interval_s,
            timeout_s=cfg.xemex_timeout_s,
        )
    return None


class EnergyManager:
    def __init__(
        self,
        station: StationInfo,
        board: Board,
        config: Config,
        grid_meter: GridMeter | None = None,
    ) -> None:
        """grid_meter: a meter to use for every mode but NO (the simulator's);
        board.grid is used the same way once the Board has that field."""
        self.station = station
        self.board = board
        self.cfg = parse_energy_config(config.raw)
        self.phases = config.station.phases
        self.tz = local_zone(self.cfg.timezone)
        self._injected: GridMeter | None = grid_meter or getattr(board, "grid", None)
        self.pushed = PushedGrid(self.cfg.pushed_stale_s)
        self.grid_max_current = self.cfg.grid_max_current
        self.load_shedding = self.cfg.load_shedding
        self.on_off_peak = self.cfg.on_off_peak
        self.tariff = TariffSource(station, self.on_off_peak, self.cfg.tariff_unknown)
        self.schedule = ScheduleSource(station, self.tz)
        self.modes = self._charging_modes(station, board)
        self.external = ExternalLimit(station.limits, self.cfg.external_limit_ttl_s)
        self.balancer: GridBalancer | None = None
        self._meter: GridMeter | None = None
        self._balancer_task: asyncio.Task[None] | None = None
        self._poll_task: asyncio.Task[None] | None = None
        self._settings: dict[str, Any] = {}

    def _charging_modes(self, station: StationInfo, board: Board) -> ChargingModeSource:
        switches = {c.connector_id: c.phase_switch for c in board.connectors if c.phase_switch}
        modes = ChargingModeSource(
            station,
            self.cfg,
            self.phases,
            switch_ids=sorted(switches),
            switch_phases=station.switch_phases,
        )
        if switches and self.phases == 3:
            modes.controller.switched(min(s.phases for s in switches.values()))
        return modes

    def _mode_step(self, reading: GridReading | None, now: float) -> None:
        if self.balancer is None:
            return
        try:
            self.modes.step(reading, self.balancer.connectors(now), now)
        except Exception:
            # runs in the balancer's task: a bug here must not freeze the grid limit; the
            # mode falls to what it allows without a measurement (nothing, or the minimum)
            log.exception("charging_mode.failed")
            self.modes.fail_safe()

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        await self.modes.load()
        await self._read_settings()
        self._start_tariff()
        await self.schedule.load()
        self.schedule.start()
        await self._start_balancer()
        self._poll_task = asyncio.get_running_loop().create_task(
            self._poll_settings(), name="energy-settings"
        )
        log.info(
            "energy.started",
            load_shedding=self.load_shedding,
            grid_max_current=self.grid_max_current,
            on_off_peak=self.on_off_peak,
            timezone=str(self.tz),
        )

    async def stop(self) -> None:
        await cancel(self._poll_task)
        self._poll_task = None
        await self._stop_balancer()
        await self.tariff.stop()
        await self.schedule.stop()
        self.modes.clear()
        self.external.close()

    async def _start_balancer(self) -> None:
        mode = self.load_shedding
        meter: GridMeter | None
        if mode == "NO":
            meter = self.pushed
        elif self._injected is not None:
            meter = self._injected
        else:
            try:
                meter = build_grid_meter(mode, self.cfg, self.phases)
            except (ValueError, OSError) as e:  # a bad port name: charge at the safe current
                log.error("energy.meter_failed", mode=mode, error=str(e))
                meter = UnavailableMeter(f"{mode} meter: {e}")
        self._meter = meter
        self.balancer = GridBalancer(
            self.station,
            meter,
            self.cfg,
            self.grid_max_current,
            self.phases,
            optional=mode == "NO",
            on_reading=self._on_reading,
            on_step=self._mode_step,
        )
        self._balancer_task = asyncio.get_running_loop().create_task(
            self.balancer.run(), name="load-balancer"
        )

    def _start_tariff(self) -> None:
        # with a P1 meter, its telegrams say the tariff; otherwise the digital input, if any
        self.tariff.mode = self.on_off_peak  # the stored setting, read since __init__
        tariff_input = None
        if self.load_shedding != "P1":
            tariff_input = self.board.inputs.get(self.cfg.tariff_input)
        self.tariff.start(tariff_input, self.cfg.tariff_input_low)

    async def _stop_balancer(self) -> None:
        await cancel(self._balancer_task)
        self._balancer_task = None
        if self.balancer is not None:
            self.balancer.clear()
        meter = self._meter
        self._meter = None
        if meter is not None and meter is not self._injected and meter is not self.pushed:
            await meter.close()  # a port we opened; the injected one belongs to its owner

    def _on_reading(self, reading: GridReading) -> None:
        if reading.tariff is not None:
            self.tariff.set_tariff(reading.tariff, "p1" if self.load_shedding == "P1" else "meter")

    # -- settings (written by the local API) -------------------------------------

    async def reload(self) -> None:
        """Apply the energy settings in the store now (the API may call this after a write)."""
        await self._apply_settings()

    async def _read_settings(self) -> None:
        settings = await self.station.store.all_settings()
        self._settings = settings
        self.grid_max_current = self._checked(
            settings, KEY_GRID_MAX_CURRENT, check_grid_max_current, self.cfg.grid_max_current
        )
        self.load_shedding = self._checked(
            settings, KEY_LOAD_SHEDDING, check_load_shedding, self.cfg.load_shedding
        )
        self.on_off_peak = self._checked(
            settings, KEY_ON_OFF_PEAK, check_on_off_peak, self.cfg.on_off_peak
        )
        mode = self._checked(
            settings, KEY_CHARGING_MODE, check_charging_mode, self.cfg.charging_mode
        )
        self.modes.apply_mode(mode)  # written by another process: the poll applies it

    @staticmethod
    def _checked(settings: dict[str, Any], key: str, check: Any, default: Any) -> Any:
        if key not in settings:
            return default
        try:
            return check(settings[key])
        except ValueError as e:
            log.error("energy.setting_invalid", key=key, error=str(e))
            return default

    async def _apply_settings(self) -> None:
        before = dict(self._settings)
        old_mode, old_peak, old_max = self.load_shedding, self.on_off_peak, self.grid_max_current
        await self._read_settings()
        if self.grid_max_current != old_max and self.balancer is not None:
            log.info("energy.grid_max_current", amps=self.grid_max_current, previous=old_max)
            self.balancer.set_grid_max_current(self.grid_max_current)
        if self.on_off_peak != old_peak:
            self.tariff.set_mode(self.on_off_peak)
        if self.load_shedding != old_mode:
            log.info("energy.load_shedding", mode=self.load_shedding, previous=old_mode)
            await self._stop_balancer()
            await self.tariff.stop()
            self.tariff.set_tariff(None, "")
            self._start_tariff()
            await self._start_balancer()
        if self._settings.get("charge_schedule") != before.get("charge_schedule"):
            await self.schedule.load()
        pushed = self._settings.get(KEY_GRID_CURRENTS)
        if pushed != before.get(KEY_GRID_CURRENTS) and pushed is not None:
            with contextlib.suppress(ValueError):  # the API checked it; the meter wins
                self.push_grid_currents(pushed)

    async def _poll_settings(self) -> None:
        while True:
            await asyncio.sleep(SETTINGS_POLL_S)
            try:
                await self._apply_settings()
            except Exception as e:  # a bad store read must not end energy management
                log.error("energy.settings_failed", error=str(e))

    # -- the local API -------------------------------------------------------------

    def push_grid_currents(self, currents: list[Any]) -> list[float]:
        """POST /config/grid-currents. Raises ValueError (bad values) or GridModeError."""
        if self.load_shedding != "NO":
            raise GridModeError(
                f"load shedding is {self.load_shedding}: the grid currents come from the meter"
            )
        return list(self.pushed.push(currents).current_a)

    def grid_currents(self) -> list[float] | None:
        """GET /config/grid-currents: what the meter measures now (None: nothing fresh)."""
        reading = self._meter.latest() if self._meter is not None else None
        return rounded(reading.current_a) if reading is not None else None

    def installation_usage(self) -> list[float] | None:
        """InstallerStatus.installationUsage: the household's own load per phase."""
        decision = self.balancer.decision if self.balancer else None
        if decision is None or decision.household_a is None or self.grid_currents() is None:
            return None
        return rounded(decision.household_a)

    def explain(self, connector_id: int | None = None) -> dict[str, Any]:
        """The limit in force and why, for /installer-status and /status (JSON-ready)."""
        ids = self.station.connector_ids if connector_id is None else [connector_id]
        decision = self.balancer.decision if self.balancer else None
        return {
            "connectors": [explain_limit(self.station.limits, cid) for cid in ids],
            "gridMaxCurrent": self.grid_max_current,
            "loadShedding": self.load_shedding,
            "onOffPeak": self.on_off_peak,
            "gridCurrents": self.grid_currents(),
            "installationUsage": self.installation_usage(),
            "balancer": {
                "mode": decision.mode if decision else "off",
                "reason": decision.reason if decision else "",
                "chargerCurrent": decision.total_a if decision else None,
                "availableCurrents": rounded(decision.available_a) if decision else None,
            },
            "tariff": self.tariff.tariff.value if self.tariff.tariff else None,
            "schedule": self.schedule.schedule.to_json() if self.schedule.schedule else None,
            "chargingMode": self.modes.explain(),
        }

    async def set_charging_mode(self, mode: object) -> str:
        """The local API and MQTT: FAST | SOLAR | SOLAR_MIN. Raises ValueError."""
        return await self.modes.set_mode(mode)
