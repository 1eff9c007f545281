"""N Monitoring under 2.0.1: the hardware faults of the charging core as device-model
variables, NotifyEvent when they change, and the CSMS's own monitors on them.

Each fault the core can raise (ncpa.charging.states.Fault) is a variable of a component
of its EVSE (RCD.Tripped, PowerContactor.Problem, ConnectorPlugRetentionLock.Problem,
ControlMetering.Problem, CPPWMController.Problem, EVSE.Problem); its value is "true"
while any fault mapped onto it is active. Every such variable has a hard-wired monitor
(eventNotificationType HardWiredMonitor, a fixed severity): a change gives a NotifyEvent,
a clearing one with cleared=true. The CSMS may add Delta and Periodic monitors
(CustomMonitor); every monitor reports only when its severity is at most the monitoring
level (SetMonitoringLevel). Monitors, base and level are kept in the store; events made
while offline wait in a bounded queue (at most OFFLINE_QUEUE, those of a severity up to
OfflineQueuingSeverity), kept in the store too so a power cut does not lose them, and go
out after the next boot.

The variables are all boolean, so threshold monitors are UnsupportedMonitorType.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from ocpp.v201 import call

from ncpa.charging.states import ERROR_CODES, Fault
from ncpa.events import FaultChanged
from ncpa.log import get_logger
from ncpa.ocpp.tasks import cancel_all, supervised
from ncpa.ocpp.timeutil import fmt_time
from ncpa.ocpp.v201.ids import evse_of
from ncpa.ocpp.v201.transactions import transaction_id

if TYPE_CHECKING:
    from ncpa.ocpp.context import OcppContext
    from ncpa.ocpp.v201.device_model import Variable

log = get_logger(__name__)

STORE_KEY = "ocpp201.monitoring"
OFFLINE_KEY = "ocpp201.monitoring.offline"  # the events waiting for a connection
MAX_MONITORS = 100  # custom monitors in all
OFFLINE_QUEUE = 200  # events kept while offline (the oldest go first)
FIRST_CUSTOM_ID = 1000  # hard-wired monitors are numbered below
DEFAULT_LEVEL = 9  # report every severity
EVENTS_PER_MESSAGE = 20


@dataclass(frozen=True)
class Watched:
    """One monitorable variable: component (of an EVSE, or its connector) and name."""

    component: str
    variable: str
    connector_level: bool
    severity: int  # of its hard-wired monitor: 0 Danger, 1 Hardware failure, ...


# fault -> the variable it sets; several faults may share one
WATCHED: dict[str, Watched] = {
    Fault.RCD: Watched("RCD", "Tripped", False, 0),
    Fault.WELDED_CONTACTOR: Watched("PowerContactor", "Problem", False, 0),
    Fault.CONTACTOR_FAILURE: Watched("PowerContactor", "Problem", False, 0),
    Fault.LOCK_FAILURE: Watched("ConnectorPlugRetentionLock", "Problem", True, 1),
    Fault.METER_FAILURE: Watched("ControlMetering", "Problem", False, 1),
    Fault.EVCC_LINK_LOST: Watched("CPPWMController", "Problem", False, 1),
    Fault.PILOT_FAULT: Watched("CPPWMController", "Problem", False, 1),
    Fault.EVCC_OTHER: Watched("EVSE", "Problem", False, 1),
    Fault.INTERNAL: Watched("EVSE", "Problem", False, 1),
    Fault.POWER_LOST: Watched("EVSE", "Problem", False, 1),
}
VARIABLES: list[Watched] = list(dict.fromkeys(WATCHED.values()))


def _value(watched: Watched, faults: frozenset[str]) -> bool:
    return any(WATCHED.get(f) == watched for f in faults)


def _faults_of(watched: Watched, faults: frozenset[str]) -> list[str]:
    return sorted(f for f in faults if WATCHED.get(f) == watched)


def monitoring_variables(ctx: OcppContext) -> list[Variable]:
    """The device model's entries for block N (ncpa/ocpp/v201/device_model.py)."""
    from ncpa.ocpp.v201.device_model import Variable

    out: list[Variable] = []
    for cid in ctx.station.connector_ids:
        evse, conn = evse_of(cid)
        for w in VARIABLES:

            def read(c: OcppContext, w: Watched = w, cid: int = cid) -> str:
                return "true" if _value(w, c.station.view(cid).faults) else "false"

            out.append(
                Variable(
                    w.component,
                    w.variable,
                    "boolean",
                    live=read,
                    evse=evse,
                    connector=conn if w.connector_level else None,
                    monitorable=True,
                )
            )

    def engine(c: OcppContext) -> DeviceMonitoring:
        assert c.monitoring is not None
        return c.monitoring

    out += [
        Variable("MonitoringCtrlr", "Enabled", "boolean", live=lambda c: "true"),
        Variable(
            "MonitoringCtrlr",
            "ActiveMonitoringBase",
            "OptionList",
            live=lambda c: engine(c).base,
            values_list="All,FactoryDefault,HardWiredOnly",
        ),
        Variable(
            "MonitoringCtrlr",
            "ActiveMonitoringLevel",
            "integer",
            live=lambda c: str(engine(c).level),
            min_limit=0,
            max_limit=9,
        ),
        Variable(
            "MonitoringCtrlr",
            "OfflineQueuingSeverity",
            "integer",
            "ReadWrite",
            "OfflineQueuingSeverity",
            min_limit=0,
            max_limit=9,
        ),
        Variable(
            "MonitoringCtrlr",
            "ItemsPerMessage",
            "integer",
            live=lambda c: str(MAX_ITEMS),
            instance="SetVariableMonitoring",
        ),
        Variable(
            "MonitoringCtrlr",
            "ItemsPerMessage",
            "integer",
            live=lambda c: str(MAX_ITEMS),
            instance="ClearVariableMonitoring",
        ),
    ]
    return out


MAX_ITEMS = 50  # entries per SetVariableMonitoring / ClearVariableMonitoring


@dataclass(frozen=True)
class Monitor:
    id: int
    component: str
    variable: str
    evse: int
    connector: int | None
    type: str  # Delta | Periodic
    value: float  # Periodic: seconds; Delta: ignored (any change of a boolean)
    severity: int
    transaction: bool = False
    hard_wired: bool = False

    def component_json(self) -> dict[str, Any]:
        evse: dict[str, Any] = {"id": self.evse}
        if self.connector is not None:
            evse["connector_id"] = self.connector
        return {"name": self.component, "evse": evse}

    def report(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "transaction": self.transaction,
            "value": self.value,
            "type": self.type,
            "severity": self.severity,
        }


def hard_wired(connector_ids: list[int]) -> list[Monitor]:
    out: list[Monitor] = []
    for cid in connector_ids:
        evse, conn = evse_of(cid)
        for w in VARIABLES:
            out.append(
                Monitor(
                    len(out) + 1,
                    w.component,
                    w.variable,
                    evse,
                    conn if w.connector_level else None,
                    "Delta",
                    1,
                    w.severity,
                    hard_wired=True,
                )
            )
    return out


class DeviceMonitoring:
    """Lives as long as the client (faults happen offline too); sends when a 2.0.1
    session is accepted."""

    def __init__(self, ctx: OcppContext) -> None:
        self.ctx = ctx
        self.base = "All"
        self.level = DEFAULT_LEVEL
        self.custom: dict[int, Monitor] = {}
        self.next_id = FIRST_CUSTOM_ID
        self.next_event = 1
        self.hard = hard_wired(list(ctx.station.connector_ids))
        self.offline: collections.deque[tuple[int, dict[str, Any]]] = collections.deque(
            maxlen=OFFLINE_QUEUE
        )
        self._changes: asyncio.Queue[FaultChanged] = asyncio.Queue(maxsize=1000)
        self._values: dict[tuple[int, Watched], bool] = {}
        self._last_periodic: dict[int, float] = {}
        self._unsubscribe: Any = None
        self._tasks: list[asyncio.Task[None]] = []

    # -- lifecycle, storage -----------------------------------------------------------

    async def start(self) -> None:
        queued = await self.ctx.station.store.get_setting(OFFLINE_KEY)
        if isinstance(queued, list):
            for entry in queued[-OFFLINE_QUEUE:]:
                with contextlib.suppress(TypeError, ValueError):
                    severity, data = entry
                    if isinstance(data, dict):
                        self.offline.append((int(severity), data))
        stored = await self.ctx.station.store.get_setting(STORE_KEY)
        if isinstance(stored, dict):
            self.base = str(stored.get("base", "All"))
            self.level = int(stored.get("level", DEFAULT_LEVEL))
            self.next_id = int(stored.get("next_id", FIRST_CUSTOM_ID))
            self.next_event = int(stored.get("next_event", 1))
            for m in stored.get("monitors", []):
                with contextlib.suppress(TypeError, ValueError, KeyError):
                    monitor = Monitor(**m)
                    self.custom[monitor.id] = monitor
        for cid in self.ctx.station.connector_ids:
            faults = self.ctx.station.view(cid).faults
            for w in VARIABLES:
                self._values[(cid, w)] = _value(w, faults)
        self._unsubscribe = self.ctx.station.bus.subscribe(self._on_fault, FaultChanged)
        # supervised: a failure (the store, say) is logged and the loop comes back
        self._tasks = [
            asyncio.create_task(supervised(name, work), name=name)
            for name, work in (
                ("ocpp-monitoring", self._work),
                ("ocpp-monitoring-periodic", self._periodic),
            )
        ]

    async def stop(self) -> None:
        running = self._unsubscribe is not None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await cancel_all(*self._tasks)
        self._tasks = []
        if running:  # once: the cancel may have cut a save of the queue short
            await self._save_offline()

    async def save(self) -> None:
        await self.ctx.station.store.set_setting(
            STORE_KEY,
            {
                "base": self.base,
                "level": self.level,
                "next_id": self.next_id,
                "next_event": self.next_event,
                "monitors": [asdict(m) for m in self.custom.values()],
            },
        )

    # -- the CSMS's requests --------------------------------------------------------------

    def monitors(self) -> list[Monitor]:
        return [*self.hard, *self.custom.values()]

    async def set_monitor(self, m: Monitor, replace: int | None) -> str:
        """SetMonitoringStatus of one request (the variable is known to be monitorable)."""
        if m.type not in ("Delta", "Periodic"):
            return "UnsupportedMonitorType"
        if m.type == "Periodic" and not 1 <= m.value <= 86400:
            return "Rejected"
        if replace is not None and replace not in self.custom:
            return "Rejected"  # no custom monitor with that id (hard-wired ones stay)
        same = [
            o
            for o in self.monitors()
            if o.id != replace
            and (o.component, o.variable, o.evse, o.connector, o.type, o.severity)
            == (m.component, m.variable, m.evse, m.connector, m.type, m.severity)
        ]
        if same:
            return "Duplicate"
        if replace is None and len(self.custom) >= MAX_MONITORS:
            return "Rejected"
        self.custom[m.id] = m
        if replace is None:
            self.next_id += 1
        await self.save()
        return "Accepted"

    def new_id(self) -> int:
        return self.next_id

    async def clear(self, ids: list[int]) -> list[dict[str, Any]]:
        out = []
        for mid in ids:
            if mid in self.custom:
                del self.custom[mid]
                self._last_periodic.pop(mid, None)
                status = "Accepted"
            elif any(h.id == mid for h in self.hard):
                status = "Rejected"  # hard-wired: part of the station
            else:
                status = "NotFound"
            out.append({"id": mid, "status": status})
        await self.save()
        return out

    async def set_base(self, base: str) -> None:
        # FactoryDefault and HardWiredOnly remove the custom monitors; the hard-wired ones
        # (there are no other pre-configured ones) always stay
        if base in ("FactoryDefault", "HardWiredOnly"):
            self.custom.clear()
            self._last_periodic.clear()
        self.base = base
        await self.save()

    async def set_level(self, severity: int) -> None:
        self.level = severity
        await self.save()

    # -- events -----------------------------------------------------------------------

    def _on_fault(self, event: FaultChanged) -> None:
        # called by the core's bus: never block it
        try:
            self._changes.put_nowait(event)
        except asyncio.QueueFull:
            log.error("ocpp.monitoring.overflow", connector=event.connector_id)

    async def _work(self) -> None:
        while True:
            change = await self._changes.get()
            await self._fault_changed(change)

    async def _fault_changed(self, change: FaultChanged) -> None:
        watched = WATCHED.get(change.fault)
        cid = change.connector_id
        if watched is None or cid not in self.ctx.station.connector_ids:
            return
        faults = self.ctx.station.view(cid).faults
        # the view may lag the event by one evaluation: the event says what changed
        faults = faults | {change.fault} if change.active else faults - {change.fault}
        value = _value(watched, faults)
        if self._values.get((cid, watched)) == value:
            return
        self._values[(cid, watched)] = value
        evse, _conn = evse_of(cid)
        codes = _faults_of(watched, faults) or [change.fault]
        events = []
        for m in self.monitors():
            if (m.component, m.variable, m.evse) != (watched.component, watched.variable, evse):
                continue
            if m.type != "Delta" or m.severity > self.level or not self._active(m):
                continue
            events.append(
                (
                    m.severity,
                    self._event(
                        m,
                        "true" if value else "false",
                        "Alerting" if m.hard_wired else "Delta",
                        tech_code=ERROR_CODES.get(Fault(change.fault), "OtherError"),
                        tech_info=",".join(codes),
                        cleared=not value,
                    ),
                )
            )
        await self.send(events)

    def _active(self, m: Monitor) -> bool:
        """A monitor with `transaction` set watches only while its EVSE charges."""
        return not m.transaction or self.ctx.station.view(m.evse).transaction is not None

    def _event(
        self,
        m: Monitor,
        actual: str,
        trigger: str,
        tech_code: str | None = None,
        tech_info: str | None = None,
        cleared: bool = False,
    ) -> dict[str, Any]:
        event_id = self.next_event
        self.next_event += 1
        data: dict[str, Any] = {
            "event_id": event_id,
            "timestamp": fmt_time(time.time()),
            "trigger": trigger,
            "actual_value": actual,
            "event_notification_type": "HardWiredMonitor" if m.hard_wired else "CustomMonitor",
            "component": m.component_json(),
            "variable": {"name": m.variable},
            "variable_monitoring_id": m.id,
        }
        if tech_code:
            data["tech_code"] = tech_code[:50]
        if tech_info:
            data["tech_info"] = tech_info[:500]
        if cleared:
            data["cleared"] = True
        tx = self.ctx.station.view(m.evse).transaction
        if tx is not None:  # the event happened during this transaction
            data["transaction_id"] = transaction_id(self.ctx.instance_id, tx.id)
        return data

    async def _periodic(self) -> None:
        while True:
            await asyncio.sleep(1)
            now = time.monotonic()
            due = []
            for m in list(self.custom.values()):
                if m.type != "Periodic" or m.severity > self.level or not self._active(m):
                    continue
                last = self._last_periodic.setdefault(m.id, now)
                if now - last >= m.value:
                    self._last_periodic[m.id] = now
                    due.append((m.severity, self._event(m, self._current(m), "Periodic")))
            if due:
                await self.send(due)

    def _current(self, m: Monitor) -> str:
        watched = next(
            w for w in VARIABLES if w.component == m.component and w.variable == m.variable
        )
        faults = self.ctx.station.view(m.evse).faults
        return "true" if _value(watched, faults) else "false"

    async def send(self, events: list[tuple[int, dict[str, Any]]]) -> None:
        """NotifyEvent now if a 2.0.1 session is accepted, else queued (bounded)."""
        if not events:
            return
        await self.save()  # the event ids handed out
        if self.ctx.ops.current_subprotocol() != "ocpp2.0.1" or not await self._notify(events):
            await self._queue(events)

    async def _queue(self, events: list[tuple[int, dict[str, Any]]]) -> None:
        keep = self.ctx.settings.get_int("OfflineQueuingSeverity")
        for severity, data in events:
            if severity <= keep:
                self.offline.append((severity, data))
        await self._save_offline()

    async def _save_offline(self) -> None:
        await self.ctx.station.store.set_setting(
            OFFLINE_KEY, [[severity, data] for severity, data in self.offline]
        )

    async def _notify(self, events: list[tuple[int, dict[str, Any]]]) -> bool:
        parts = [
            events[i : i + EVENTS_PER_MESSAGE] for i in range(0, len(events), EVENTS_PER_MESSAGE)
        ]
        generated = fmt_time(time.time())
        for seq_no, part in enumerate(parts):
            payload = call.NotifyEvent(
                generated_at=generated,
                seq_no=seq_no,
                event_data=[data for _, data in part],
                tbc=seq_no < len(parts) - 1,
            )
            if await self.ctx.ops.try_send(payload) is None:
                return False
        return True

    async def flush(self) -> None:
        """After a 2.0.1 boot: the events queued while offline."""
        if not self.offline or self.ctx.ops.current_subprotocol() != "ocpp2.0.1":
            return
        events = list(self.offline)
        if await self._notify(events):
            sent = {id(e) for e in events}  # what came in while sending stays queued
            kept = [e for e in self.offline if id(e) not in sent]
            self.offline = collections.deque(kept, maxlen=OFFLINE_QUEUE)
            await self._save_offline()
