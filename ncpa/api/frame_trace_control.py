"""The OCPP frame trace as the API sees it: a switch and the recent frames.

The OCPP client's own trace (ncpa.ocpp.frame_trace.FrameTrace) fits this Protocol; until
the daemon hands one in, `MemoryFrameTrace` stands in (bounded, it records what is given
to `record`, nothing else).
"""

from __future__ import annotations

import time
from collections import deque
from typing import Protocol

MAX_FRAMES = 500
MAX_FRAME_CHARS = 8192


class FrameTraceControl(Protocol):
    enabled: bool

    def recent(self, limit: int) -> list[dict[str, str]]:
        """The newest `limit` frames, oldest first: {"time": ISO-8601, "direction", "frame"}."""
        ...


class MemoryFrameTrace:
    """Stand-in until the OCPP client's FrameTrace is wired (see the module doc)."""

    def __init__(self, capacity: int = MAX_FRAMES) -> None:
        self.enabled = False
        self._frames: deque[dict[str, str]] = deque(maxlen=capacity)

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
