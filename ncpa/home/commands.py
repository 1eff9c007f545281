"""Commands from home automation: checked, acted on through the charging core and the
energy manager (as the local API does), and answered.

Topics (under the prefix, docs/home.md):
  set/mode                   FAST | SOLAR | SOLAR_MIN
  set/current_limit          amps (0..max; 0 pauses) | "clear"; expires unless refreshed
  connector/<n>/set/command  start | stop | pause | resume, or JSON {"command": "start",
                             "idTag": "ABC123"}
Every command gets one answer on `result`: {"topic", "command", "ok", "message", "value"}.
A bad payload changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ncpa.charging.authorization import check_id_tag
from ncpa.energy.external_limit import ExternalLimit
from ncpa.energy.limits import PAUSE, CurrentLimits
from ncpa.home.topics import Topics
from ncpa.log import get_logger

log = get_logger(__name__)

MAX_PAYLOAD = 1024
CONNECTOR_COMMANDS = ("start", "stop", "pause", "resume")


class CommandError(ValueError):
    """The command is refused; the message says why (it goes to the result topic)."""


class StationCommands(Protocol):
    """What MQTT may ask of the charging core (ncpa.charging.station.ChargingStation)."""

    @property
    def connector_ids(self) -> list[int]: ...

    @property
    def limits(self) -> CurrentLimits: ...

    async def remote_start(self, id_tag: str, connector_id: int | None = None) -> bool: ...

    async def stop_connector(
        self, connector_id: int, reason: str, id_tag: str | None = None
    ) -> bool: ...


@dataclass(frozen=True)
class Result:
    topic: str
    command: str
    ok: bool
    message: str
    value: Any = None

    def to_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "command": self.command,
            "ok": self.ok,
            "message": self.message,
            "value": self.value,
        }


class CommandHandler:
    def __init__(
        self,
        topics: Topics,
        station: StationCommands,
        set_mode: Callable[[object], Awaitable[str]],
        external: ExternalLimit,
        id_tag: str,
    ) -> None:
        self.topics = topics
        self.station = station
        self.set_mode = set_mode
        self.external = external
        self.id_tag = id_tag
        self._routes: dict[str, tuple[str, Callable[[str], Awaitable[Any]]]] = {
            topics.set_mode: ("mode", self._mode),
            topics.set_current_limit: ("current_limit", self._current_limit),
        }
        for cid in station.connector_ids:
            self._routes[topics.connector_command(cid)] = ("command", self._connector(cid))

    async def handle(self, topic: str, payload: bytes) -> Result:
        """Never raises: a refused command is a Result with ok False."""
        route = self._routes.get(topic)
        if route is None:
            return Result(topic, "", False, "unknown command topic")
        name, act = route
        try:
            text = _text(payload)
            value = await act(text)
        except CommandError as e:
            log.info("mqtt.command_refused", topic=topic, error=str(e))
            return Result(topic, name, False, str(e))
        except Exception:  # a bug must not end the command loop: refuse, log, go on
            log.exception("mqtt.command_failed", topic=topic)
            return Result(topic, name, False, "internal error (logged on the charger)")
        log.info("mqtt.command", topic=topic, value=value)
        return Result(topic, name, True, "accepted", value)

    async def _mode(self, text: str) -> str:
        try:
            return await self.set_mode(text.strip().upper())
        except ValueError as e:
            raise CommandError(str(e)) from e

    async def _current_limit(self, text: str) -> float | None:
        text = text.strip()
        if text.lower() in ("clear", "none", ""):
            self.external.clear()
            return None
        try:
            value: object = json.loads(text)
        except ValueError as e:
            raise CommandError(f"current limit: {text[:40]!r} is not a number") from e
        try:
            return self.external.set(value)
        except ValueError as e:
            raise CommandError(str(e)) from e

    def _connector(self, cid: int) -> Callable[[str], Awaitable[Any]]:
        async def act(text: str) -> Any:
            command, id_tag = _connector_command(text, self.id_tag)
            limits = self.station.limits
            if command == "start":
                if not await self.station.remote_start(id_tag, cid):
                    raise CommandError(f"connector {cid}: cannot start now (busy or inoperative)")
                return id_tag
            if command == "stop":
                if not await self.station.stop_connector(cid, "Remote"):
                    raise CommandError(f"connector {cid}: no session to stop")
                limits.set(PAUSE, None, cid)
                return None
            limits.set(PAUSE, 0.0 if command == "pause" else None, cid)
            return command

        return act


def _text(payload: bytes) -> str:
    if len(payload) > MAX_PAYLOAD:
        raise CommandError(f"payload of {len(payload)} bytes: at most {MAX_PAYLOAD}")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CommandError("payload is not UTF-8 text") from e


def _connector_command(text: str, default_tag: str) -> tuple[str, str]:
    text = text.strip()
    id_tag = default_tag
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as e:
            raise CommandError("payload: not valid JSON") from e
        if not isinstance(data, dict) or set(data) - {"command", "idTag"}:
            raise CommandError('payload: {"command": ..., "idTag": ...}')
        command = data.get("command")
        tag = data.get("idTag", default_tag)
        if not isinstance(tag, str):
            raise CommandError("idTag: a string")
        id_tag = tag
    else:
        command = text.lower()
    if command not in CONNECTOR_COMMANDS:
        choices = ", ".join(CONNECTOR_COMMANDS)
        raise CommandError(f"command: {str(command)[:40]!r}, one of {choices}")
    try:
        id_tag = check_id_tag(id_tag)
    except ValueError as e:
        raise CommandError(f"idTag: {e}") from e
    return str(command), id_tag
