"""N Monitoring requests: SetVariableMonitoring, ClearVariableMonitoring,
GetMonitoringReport (+ NotifyMonitoringReport in parts), SetMonitoringBase,
SetMonitoringLevel, over the engine in ncpa/ocpp/v201/monitoring.py."""

from __future__ import annotations

import time
from typing import Any

from ocpp.exceptions import OccurrenceConstraintViolationError
from ocpp.v201 import call, call_result

from ncpa.log import get_logger
from ncpa.ocpp.routing import on
from ncpa.ocpp.timeutil import fmt_time
from ncpa.ocpp.v201.base import Block
from ncpa.ocpp.v201.device_model import DeviceModel
from ncpa.ocpp.v201.monitoring import MAX_ITEMS, DeviceMonitoring, Monitor

log = get_logger(__name__)

REPORT_MONITORS = 20  # variables per NotifyMonitoringReport
_CRITERIA = {"DeltaMonitoring": "Delta", "PeriodicMonitoring": "Periodic"}


def _too_many(action: str) -> OccurrenceConstraintViolationError:
    return OccurrenceConstraintViolationError(
        description=f"at most {MAX_ITEMS} entries per {action}",
        details={"cause": f"ItemsPerMessage {MAX_ITEMS}"},
    )


class MonitorsBlock(Block):
    @property
    def engine(self) -> DeviceMonitoring:
        assert self.ctx.monitoring is not None  # the client makes it whenever 2.0.1 runs
        return self.ctx.monitoring

    @on("SetVariableMonitoring")
    async def on_set_variable_monitoring(
        self, set_monitoring_data: list[dict[str, Any]], **_: Any
    ) -> call_result.SetVariableMonitoring:
        if len(set_monitoring_data) > MAX_ITEMS:
            raise _too_many("SetVariableMonitoring")
        model = DeviceModel(self.ctx)
        results = [await self._set_one(model, e) for e in set_monitoring_data]
        return call_result.SetVariableMonitoring(set_monitoring_result=results)

    async def _set_one(self, model: DeviceModel, entry: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": entry["type"],
            "severity": entry["severity"],
            "component": entry["component"],
            "variable": entry["variable"],
        }
        found, var = model.find(entry["component"], entry["variable"])
        if var is None:
            out["status"] = found
            return out
        if not var.monitorable or var.evse is None:
            out["status"] = "Rejected"
            out["status_info"] = {"reason_code": "NotMonitorable"}
            return out
        engine = self.engine
        replace = entry.get("id")
        monitor = Monitor(
            id=replace if replace is not None else engine.new_id(),
            component=var.component,
            variable=var.name,
            evse=var.evse,
            connector=var.connector,
            type=entry["type"],
            value=float(entry["value"]),
            severity=int(entry["severity"]),
            transaction=bool(entry.get("transaction", False)),
        )
        out["status"] = await engine.set_monitor(monitor, replace)
        if out["status"] == "Accepted":
            out["id"] = monitor.id
            log.info("ocpp.monitor.set", id=monitor.id, component=var.component, type=monitor.type)
        return out

    @on("ClearVariableMonitoring")
    async def on_clear_variable_monitoring(
        self, id: list[int], **_: Any
    ) -> call_result.ClearVariableMonitoring:
        if len(id) > MAX_ITEMS:
            raise _too_many("ClearVariableMonitoring")
        return call_result.ClearVariableMonitoring(
            clear_monitoring_result=await self.engine.clear(id)
        )

    @on("SetMonitoringBase")
    async def on_set_monitoring_base(
        self, monitoring_base: str, **_: Any
    ) -> call_result.SetMonitoringBase:
        await self.engine.set_base(monitoring_base)
        return call_result.SetMonitoringBase(status="Accepted")

    @on("SetMonitoringLevel")
    async def on_set_monitoring_level(
        self, severity: int, **_: Any
    ) -> call_result.SetMonitoringLevel:
        if not 0 <= severity <= 9:
            return call_result.SetMonitoringLevel(status="Rejected")
        await self.engine.set_level(severity)
        return call_result.SetMonitoringLevel(status="Accepted")

    @on("GetMonitoringReport")
    async def on_get_monitoring_report(
        self,
        request_id: int,
        component_variable: list[dict[str, Any]] | None = None,
        monitoring_criteria: list[str] | None = None,
        **_: Any,
    ) -> call_result.GetMonitoringReport:
        monitors = self.engine.monitors()
        if monitoring_criteria:
            types = {_CRITERIA[c] for c in monitoring_criteria if c in _CRITERIA}
            monitors = [m for m in monitors if m.type in types]
        if component_variable:
            monitors = [m for m in monitors if any(_wanted(m, w) for w in component_variable)]
        if not monitors:
            return call_result.GetMonitoringReport(status="EmptyResultSet")
        self.after_reply(self._report(request_id, monitors))
        return call_result.GetMonitoringReport(status="Accepted")

    async def _report(self, request_id: int, monitors: list[Monitor]) -> None:
        by_variable: dict[tuple[str, str, int, int | None], list[Monitor]] = {}
        for m in monitors:
            by_variable.setdefault((m.component, m.variable, m.evse, m.connector), []).append(m)
        entries = [
            {
                "component": ms[0].component_json(),
                "variable": {"name": ms[0].variable},
                "variable_monitoring": [m.report() for m in ms],
            }
            for ms in by_variable.values()
        ]
        parts = [entries[i : i + REPORT_MONITORS] for i in range(0, len(entries), REPORT_MONITORS)]
        generated = fmt_time(time.time())
        for seq_no, part in enumerate(parts):
            payload = call.NotifyMonitoringReport(
                request_id=request_id,
                seq_no=seq_no,
                generated_at=generated,
                monitor=part,
                tbc=seq_no < len(parts) - 1,
            )
            if await self.ctx.ops.try_send(payload, while_pending=True) is None:
                log.warning("ocpp.monitoring_report.interrupted", request_id=request_id)
                return


def _wanted(m: Monitor, wanted: dict[str, Any]) -> bool:
    component = wanted.get("component") or {}
    if component.get("name") != m.component:
        return False
    evse = component.get("evse") or {}
    if evse.get("id") not in (None, m.evse):
        return False
    variable = wanted.get("variable") or {}
    return variable.get("name") in (None, m.variable)
