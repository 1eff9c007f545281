"""SmartCharging for the OCPP client, over the profile engine (ncpa.energy.charging_profiles).

The engine stacks the profiles and computes the composite schedule; CsmsLimitSource
keeps the limit source "csms" equal to it. This module turns OCPP payloads into
engine calls and answers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from ncpa.charging.station import ChargingStation
from ncpa.energy.charging_profiles import ChargingProfile, ChargingProfiles, ProfileError
from ncpa.energy.csms_limit import CsmsLimitSource, mains_voltage
from ncpa.energy.limits import CSMS
from ncpa.log import get_logger
from ncpa.ocpp.outbox import Outbox
from ncpa.ocpp.profile_payload import profile_from_payload, profile_to_payload, schedule_to_payload
from ncpa.ocpp.settings import OcppSettings
from ncpa.ocpp.timeutil import fmt_time

log = get_logger(__name__)


class SmartCharging:
    def __init__(self, station: ChargingStation, outbox: Outbox, settings: OcppSettings) -> None:
        self.station = station
        self.outbox = outbox
        # the capacity keys are read-only: their defaults are what the engine enforces
        self.profiles = ChargingProfiles(
            station.store,
            max_profiles=settings.get_int("MaxChargingProfilesInstalled"),
            max_stack_level=settings.get_int("ChargeProfileMaxStackLevel"),
            max_periods=settings.get_int("ChargingScheduleMaxPeriods"),
        )
        self.source = CsmsLimitSource(station, self.profiles)

    async def start(self) -> None:
        await self.profiles.load()
        await self.source.start()

    async def stop(self) -> None:
        await self.source.stop()

    async def _local_ids(self) -> dict[str, int]:
        """CSMS transaction id (as text) -> local id, for the open transactions."""
        out: dict[str, int] = {}
        for view in self.station.views():
            tx = view.transaction
            if tx is not None:
                remote = await self.outbox.remote_id(tx.id)
                if remote is not None:
                    out[str(remote)] = tx.id
        return out

    def count(self) -> int:
        return len(self.profiles.profiles)

    def matching(
        self,
        connector_id: int | None = None,
        purpose: str | None = None,
        stack_level: int | None = None,
        ids: list[int] | None = None,
    ) -> list[ChargingProfile]:
        """The installed profiles that match every criterion given."""
        return [
            p
            for p in self.profiles.profiles
            if (connector_id is None or p.connector_id == connector_id)
            and (purpose is None or p.purpose == purpose)
            and (stack_level is None or p.stack_level == stack_level)
            and (not ids or p.id in ids)
        ]

    def installed(
        self,
        connector_id: int | None = None,
        purpose: str | None = None,
        stack_level: int | None = None,
        ids: list[int] | None = None,
    ) -> list[tuple[int, dict[str, Any]]]:
        """(connector, payload) of the installed profiles that match every criterion given."""
        return [
            (p.connector_id, profile_to_payload(p))
            for p in self.matching(connector_id, purpose, stack_level, ids)
        ]

    async def set_profile(self, connector_id: int, payload: Mapping[str, Any]) -> str:
        problem = await self.install(connector_id, payload)
        return "Accepted" if problem is None else "Rejected"

    async def install(
        self,
        connector_id: int,
        payload: Mapping[str, Any],
        *,
        local_ids: Mapping[str, int] | None = None,
        replace_same_level: bool = True,
    ) -> str | None:
        """Install a profile; None, or why it was refused (nothing changed then).

        local_ids: the CSMS's transaction ids -> ours (default: the ids the CSMS gave
        the open transactions, as 1.6 has them; 2.0.1 passes its own)."""
        if connector_id != 0 and connector_id not in self.station.connector_ids:
            return f"no connector {connector_id}"
        try:
            ids = await self._local_ids() if local_ids is None else local_ids
            profile = profile_from_payload(connector_id, payload, ids)
            await self.profiles.install(
                profile, self.source.open_transactions, replace_same_level=replace_same_level
            )
        except (ProfileError, KeyError, TypeError, ValueError) as e:
            log.warning("ocpp.profile.rejected", connector=connector_id, reason=str(e))
            return str(e)
        self.source.refresh()
        return None

    async def clear(
        self,
        id: int | None,
        connector_id: int | None,
        purpose: str | None,
        stack_level: int | None,
    ) -> str:
        removed = await self.profiles.clear(id, connector_id, purpose, stack_level)
        self.source.refresh()
        return "Accepted" if removed else "Unknown"

    def composite(
        self, connector_id: int, duration: int, unit: str | None
    ) -> dict[str, Any] | None:
        """GetCompositeSchedule.conf fields, or None (Rejected)."""
        if connector_id != 0 and connector_id not in self.station.connector_ids:
            return None
        now = time.time()
        cid = connector_id or self.station.connector_ids[0]
        view = self.station.view(cid)
        tx = view.transaction if connector_id else None
        voltage = mains_voltage(view.last_reading)
        try:
            schedule = self.profiles.composite(
                connector_id,
                now,
                duration,
                unit or "A",
                tx.start_ts if tx is not None else None,
                voltage,
                self.station.config.station.phases,
                default_limit=self.station.config.station.absolute_max_current,
            )
        except ProfileError as e:
            log.warning("ocpp.composite.rejected", reason=str(e))
            return None
        payload = schedule_to_payload(schedule)
        # "the result of all active schedules and possible local limits" (1.6 and 2.0.1):
        # the local limits in force now (installer, grid, mode, ...: none has a schedule of
        # its own) cap every period
        local = [a for src, a in self.station.limits.sources(connector_id).items() if src != CSMS]
        if local:
            cap_periods(payload, min(local), voltage, self.station.config.station.phases)
        return {
            "connector_id": connector_id,
            "schedule_start": fmt_time(now),
            "charging_schedule": payload,
        }

    async def after_remote_start(
        self, connector_id: int | None, payload: Mapping[str, Any], within: float
    ) -> None:
        """The TxProfile of a RemoteStartTransaction, once its transaction has started."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        cids = [connector_id] if connector_id else self.station.connector_ids
        while loop.time() < deadline:
            for cid in cids:
                if self.station.view(cid).transaction is not None:
                    status = await self.set_profile(cid, payload)
                    log.info("ocpp.remote_start.profile", connector=cid, status=status)
                    return
            await asyncio.sleep(0.2)
        log.warning("ocpp.remote_start.profile_dropped", reason="no transaction started")


def cap_periods(schedule: dict[str, Any], amps: float, voltage: float, phases: int) -> None:
    """Lower each period of a composite schedule payload to `amps` per phase (in W for a W
    schedule: amps x voltage x the period's phases)."""
    watts = schedule["charging_rate_unit"] == "W"
    for period in schedule["charging_schedule_period"]:
        cap = amps
        if watts:
            cap = amps * voltage * int(period.get("number_phases") or phases)
        if period["limit"] > cap:
            period["limit"] = round(cap, 1)
