"""B Provisioning: GetVariables, SetVariables, GetBaseReport / GetReport with NotifyReport in
parts, Reset (station or EVSE; Immediate or OnIdle)."""

from __future__ import annotations

import time
from typing import Any

from ocpp.exceptions import OccurrenceConstraintViolationError, OCPPError
from ocpp.v201 import call, call_result

from ncpa.log import get_logger
from ncpa.ocpp.routing import on
from ncpa.ocpp.timeutil import fmt_time
from ncpa.ocpp.v201.base import Block
from ncpa.ocpp.v201.device_model import MAX_GET_SET, REPORT_ITEMS, DeviceModel, Variable
from ncpa.ocpp.v201.ids import connector_of

log = get_logger(__name__)


class ProvisioningBlock(Block):
    @property
    def model(self) -> DeviceModel:
        return DeviceModel(self.ctx)

    @on("GetVariables")
    async def on_get_variables(
        self, get_variable_data: list[dict[str, Any]], **_: Any
    ) -> call_result.GetVariables:
        if len(get_variable_data) > MAX_GET_SET:
            raise _too_many("GetVariables")
        model = self.model
        return call_result.GetVariables(
            get_variable_result=[model.get(e) for e in get_variable_data]
        )

    @on("SetVariables")
    async def on_set_variables(
        self, set_variable_data: list[dict[str, Any]], **_: Any
    ) -> call_result.SetVariables:
        if len(set_variable_data) > MAX_GET_SET:
            raise _too_many("SetVariables")
        model = self.model
        results = [await model.set(e) for e in set_variable_data]
        return call_result.SetVariables(set_variable_result=results)

    @on("GetBaseReport")
    async def on_get_base_report(
        self, request_id: int, report_base: str, **_: Any
    ) -> call_result.GetBaseReport:
        model = self.model
        found = model.select(base=report_base)
        self.after_reply(self._notify_report(model, request_id, found))
        return call_result.GetBaseReport(status="Accepted")

    @on("GetReport")
    async def on_get_report(
        self,
        request_id: int,
        component_variable: list[dict[str, Any]] | None = None,
        component_criteria: list[str] | None = None,
        **_: Any,
    ) -> call_result.GetReport:
        if len(component_variable or []) > MAX_GET_SET:
            raise _too_many("GetReport")
        model = self.model
        found = model.select(criteria=component_criteria, wanted=component_variable)
        if not found:
            return call_result.GetReport(status="EmptyResultSet")
        self.after_reply(self._notify_report(model, request_id, found))
        return call_result.GetReport(status="Accepted")

    async def _notify_report(
        self, model: DeviceModel, request_id: int, found: list[Variable]
    ) -> None:
        """NotifyReport in parts: seqNo from 0, tbc on every part but the last."""
        parts = [found[i : i + REPORT_ITEMS] for i in range(0, len(found), REPORT_ITEMS)] or [[]]
        generated = fmt_time(time.time())
        for seq_no, part in enumerate(parts):
            payload = call.NotifyReport(
                request_id=request_id,
                generated_at=generated,
                seq_no=seq_no,
                report_data=[model.report_data(v) for v in part] or None,
                tbc=seq_no < len(parts) - 1,
            )
            if await self.ctx.ops.try_send(payload, while_pending=True) is None:
                log.warning("ocpp.report.interrupted", request_id=request_id, part=seq_no)
                return

    @on("Reset")
    async def on_reset(self, type: str, evse_id: int | None = None, **_: Any) -> call_result.Reset:
        station = self.ctx.station
        if evse_id is not None and connector_of(station, evse_id) is None:
            return call_result.Reset(status="Rejected")
        cids = [evse_id] if evse_id is not None else station.connector_ids
        busy = any(station.view(c).transaction is not None for c in cids)
        self.after_reply(self.ctx.ops.reset(type, evse_id))
        return call_result.Reset(status="Scheduled" if type == "OnIdle" and busy else "Accepted")


def _too_many(action: str) -> OCPPError:
    return OccurrenceConstraintViolationError(
        description=f"at most {MAX_GET_SET} entries per {action}",
        details={"cause": f"ItemsPerMessage {MAX_GET_SET}"},
    )
