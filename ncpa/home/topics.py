"""Every MQTT topic of one charger, under its prefix (docs/home.md has the table)."""

from __future__ import annotations

from dataclasses import dataclass

ONLINE = "online"
OFFLINE = "offline"


@dataclass(frozen=True)
class Topics:
    prefix: str

    @property
    def availability(self) -> str:
        """`online` / `offline` (retained; `offline` is the last will)."""
        return f"{self.prefix}/availability"

    @property
    def station_state(self) -> str:
        return f"{self.prefix}/state"

    def connector_state(self, connector_id: int) -> str:
        return f"{self.prefix}/connector/{connector_id}/state"

    @property
    def result(self) -> str:
        """The answer to every command (not retained)."""
        return f"{self.prefix}/result"

    @property
    def set_mode(self) -> str:
        return f"{self.prefix}/set/mode"

    @property
    def set_current_limit(self) -> str:
        return f"{self.prefix}/set/current_limit"

    def connector_command(self, connector_id: int) -> str:
        return f"{self.prefix}/connector/{connector_id}/set/command"

    @property
    def subscriptions(self) -> list[str]:
        return [f"{self.prefix}/set/+", f"{self.prefix}/connector/+/set/+"]
