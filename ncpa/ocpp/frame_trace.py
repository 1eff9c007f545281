"""The OCPP frame trace: every frame in and out, secrets redacted, for diagnosis in the field.

Off by default. An installer turns it on with `[ocpp] frame_trace = true` or through the
local API (`PUT /diagnostics/ocpp-trace`); the switch is kept in the store, so it holds
across restarts until turned off. When on, each frame is logged (`ocpp.frame`) and the
newest `capacity` are kept in memory for `GET /diagnostics/ocpp-trace`.

Redacted: values of keys that name a secret (AuthorizationKey, passwords, private keys,
shared secrets) wherever they sit in a payload, the value beside a `key` / `name` that names
one (ChangeConfiguration, GetConfiguration, SetVariables), and any PEM private-key block.
"""

from __future__ import annotations

import json
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from ncpa.log import get_logger

log = get_logger(__name__)

REDACTED = "***"
STORE_KEY = "ocpp.frame_trace"
_SECRET = re.compile(r"(password|authorizationkey|privatekey|secret|passphrase)", re.I)
_PEM_KEY = re.compile(r"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.S)
_MAX_FRAME_CHARS = 8192  # a trace line, not an archive: long frames are cut


def _names_secret(entry: dict[str, Any]) -> bool:
    """A 1.6 key/value pair or a 2.0.1 variable entry whose name is a secret."""
    names = [entry.get("key"), entry.get("name")]
    variable = entry.get("variable")
    if isinstance(variable, dict):
        names.append(variable.get("name"))
    return any(isinstance(n, str) and _SECRET.search(n) for n in names)


def redact(value: Any) -> Any:
    """A copy of a parsed payload with every secret replaced."""
    if isinstance(value, dict):
        named = _names_secret(value)
        out: dict[str, Any] = {}
        for k, v in value.items():
            secret = bool(_SECRET.search(k)) or (named and k in ("value", "attributeValue"))
            out[k] = REDACTED if secret and v not in (None, "") else redact(v)
        return out
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _PEM_KEY.sub(REDACTED, value)
    return value


def redact_frame(text: str | bytes) -> str:
    """The frame as it may be shown: parsed and redacted when it is JSON, else cut."""
    if isinstance(text, bytes):
        return f"<binary frame, {len(text)} bytes>"
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return _PEM_KEY.sub(REDACTED, text[:_MAX_FRAME_CHARS])
    try:
        shown = json.dumps(redact(parsed), separators=(",", ":"), default=str)
    except RecursionError:
        return "<frame nested too deep to show>"
    return shown[:_MAX_FRAME_CHARS]


class FrameTrace:
    """The switch and the ring of recent frames; `record` is called for every frame."""

    def __init__(self, capacity: int = 500) -> None:
        self._enabled = False
        self._frames: deque[dict[str, str]] = deque(maxlen=capacity)
        # persists the switch (set by the client once the store is open)
        self.persist: Callable[[bool], Awaitable[None]] | None = None

    @property
    def enabled(self) -> bool:
        return self._enabled

    @enabled.setter
    def enabled(self, on: bool) -> None:
        if on != self._enabled:
            log.info("ocpp.frame_trace", enabled=on)
        self._enabled = on
        if not on:
            self._frames.clear()

    async def set_enabled(self, on: bool) -> None:
        """Switch and keep the switch across restarts."""
        self.enabled = on
        if self.persist is not None:
            await self.persist(on)

    def record(self, direction: str, text: str | bytes) -> None:
        if not self._enabled:
            return
        shown = redact_frame(text)
        stamp = datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="milliseconds")
        entry = {"time": stamp.replace("+00:00", "Z"), "direction": direction, "frame": shown}
        self._frames.append(entry)
        log.info("ocpp.frame", direction=direction, frame=shown)

    def recent(self, limit: int = 100) -> list[dict[str, str]]:
        frames = list(self._frames)
        return frames[-limit:] if limit > 0 else []
