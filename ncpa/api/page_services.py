"""What the web page's routes need beyond the core API: the live hub, the log ring,
the OCPP frame trace switch, the hardware check, the simulator's address.

    create_app(..., page=PageOptions(frame_trace=..., csms=..., simulator_url=...))

Kept apart from ApiState so that the page's concerns stay in their own modules.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ncpa.api.frame_trace_control import FrameTraceControl, MemoryFrameTrace
from ncpa.api.live import LiveHub
from ncpa.api.log_ring import LogRing
from ncpa.charging.station import ChargingStation


@dataclass
class PageOptions:
    """From the daemon: the OCPP frame trace (None: an in-memory one), the CSMS link's
    state ({"configured", "connected", ...}), and the simulator control URL (developer
    mode on the simulator only)."""

    frame_trace: FrameTraceControl | None = None
    csms: Callable[[], dict[str, Any]] | None = None
    simulator_url: str | None = None


@dataclass
class PageServices:
    live: LiveHub
    logs: LogRing
    trace: FrameTraceControl
    simulator_url: str | None
    hwcheck_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def create(cls, station: ChargingStation, options: PageOptions | None) -> PageServices:
        o = options or PageOptions()
        return cls(
            live=LiveHub(station, o.csms),
            logs=LogRing(),
            trace=o.frame_trace if o.frame_trace is not None else MemoryFrameTrace(),
            simulator_url=o.simulator_url,
        )

    def start(self) -> None:
        self.logs.install()
        self.live.start()

    def stop(self) -> None:
        self.live.stop()
        self.logs.remove()


PAGE = web.AppKey("page_services", PageServices)


def page(request: web.Request) -> PageServices:
    return request.app[PAGE]
