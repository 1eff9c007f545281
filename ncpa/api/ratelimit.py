"""Per-client rate limit (sliding window), for /auth: pairing attempts are expensive
(HKDF, AES-GCM, a signature check) and guessing must stay slow."""

from __future__ import annotations

import time
from collections import deque


class RateLimiter:
    def __init__(self, attempts: int, window_s: float, max_clients: int = 10_000) -> None:
        self.attempts = attempts
        self.window_s = window_s
        self.max_clients = max_clients
        self._hits: dict[str, deque[float]] = {}

    def check(self, key: str, now: float | None = None) -> float | None:
        """Count one attempt by `key`. None: allowed; else seconds until the next is allowed."""
        now = time.monotonic() if now is None else now
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self.max_clients:
                self._forget_idle(now)
            hits = self._hits[key] = deque()
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        if len(hits) >= self.attempts:
            return max(0.0, hits[0] + self.window_s - now)
        hits.append(now)
        return None

    def _forget_idle(self, now: float) -> None:
        # bounded memory: clients with no attempt in the window are dropped
        for key in [k for k, h in self._hits.items() if not h or h[-1] <= now - self.window_s]:
            del self._hits[key]
