"""The OCPP frame trace as the API sees it: a switch and the recent frames.

The OCPP client's own trace (ncpa.ocpp.frame_trace.FrameTrace, redacting secrets and keeping
its switch in the store) is what the daemon hands in when a CSMS is configured; without one
(offline), `MemoryFrameTrace` stands in: there are no frames to show.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Protocol

MAX_FRAMES = 500
MAX_FRAME_CHARS = 8192


class FrameTraceControl(Protocol):
    @property
    def enabled(self) -> bool: ...

    async def set_enabled(self, on: bool) -> None:
        """Switch the trace (kept across restarts where the implementation can)."""
        ...

    def recent(self, limit: int) -> list[dict[str, str]]:
        """The newest `limit` frames, oldest first: {"time": ISO-8601, "direction", "frame"}."""
        ...


class MemoryFrameTrace:
    """The trace of a charger without a CSMS (see the module doc)."""

    def __init__(self, capacity: int = MAX_FRAMES) -> None:
        self.enabled = False
        self._frames: deque[dict[str, str]] = deque(maxlen=capacity)

    async def set_enabled(self, on: bool) -> None:
        self.enabled = on

    def record(self, direction: str, frame: str) -> None:
        if self.enabled:
            now = time.time()
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
            self._frames.append(
                {
                    "time": f"{stamp}.{int(now % 1 * 1000):03d}Z",
                    "direction": direction,
                    "frame": frame[:MAX_FRAME_CHARS],
                }
            )

    def recent(self, limit: int) -> list[dict[str, str]]:
        frames = list(self._frames)
        return frames[-limit:] if limit > 0 else []
