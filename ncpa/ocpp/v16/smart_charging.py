"""SmartCharging profile handlers: Set/ClearChargingProfile, GetCompositeSchedule."""

from __future__ import annotations

from typing import Any

from ocpp.v16 import call_result

from ncpa.ocpp.routing import on
from ncpa.ocpp.v16.base import Handlers


class SmartChargingHandlers(Handlers):
    @on("SetChargingProfile")
    async def on_set_charging_profile(
        self, connector_id: int, cs_charging_profiles: dict[str, Any], **_: Any
    ) -> call_result.SetChargingProfile:
        status = await self.ctx.smart.set_profile(connector_id, cs_charging_profiles)
        return call_result.SetChargingProfile(status=status)

    @on("ClearChargingProfile")
    async def on_clear_charging_profile(
        self,
        id: int | None = None,
        connector_id: int | None = None,
        charging_profile_purpose: str | None = None,
        stack_level: int | None = None,
        **_: Any,
    ) -> call_result.ClearChargingProfile:
        status = await self.ctx.smart.clear(id, connector_id, charging_profile_purpose, stack_level)
        return call_result.ClearChargingProfile(status=status)

    @on("GetCompositeSchedule")
    async def on_get_composite_schedule(
        self,
        connector_id: int,
        duration: int,
        charging_rate_unit: str | None = None,
        **_: Any,
    ) -> call_result.GetCompositeSchedule:
        result = self.ctx.smart.composite(connector_id, duration, charging_rate_unit)
        if result is None:
            return call_result.GetCompositeSchedule(status="Rejected")
        return call_result.GetCompositeSchedule(status="Accepted", **result)
