"""B09 SetNetworkProfile and B10 migration to a new CSMS: network connection profiles in
numbered slots, tried in the order of NetworkConfigurationPriority, with fallback.

A profile is stored (the store's settings, `ocpp.network_profiles`) when SetNetworkProfile
accepts it; it is used once the CSMS lists its slot in
OCPPCommCtrlr.NetworkConfigurationPriority (a change that applies from the next start:
RebootRequired). The connection loop asks `target(base)` which CSMS to try: the listed
profiles in order, each NetworkProfileConnectionAttempts times, then the next one; the
configuration file's connection (slot 0, `base`) is the last resort, so a charger can
always fall back to where it was installed. A profile that connects stays in use while
its connections keep being accepted.

Refused (Rejected): a security profile below the current SecurityProfile (never a
downgrade), TLS profiles without wss:// or without the certificates they need, SOAP,
a VPN or APN (the agent does not manage the network link), the slot in use, slot 0.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ocpp.v201 import call_result

from ncpa.log import get_logger
from ncpa.ocpp.connection import NAMES, Target
from ncpa.ocpp.options import csms_url
from ncpa.ocpp.routing import on
from ncpa.ocpp.v201.base import Block

if TYPE_CHECKING:
    from ncpa.ocpp.options import OcppOptions
    from ncpa.ocpp.settings import OcppSettings
    from ncpa.store import Store

log = get_logger(__name__)

STORE_KEY = "ocpp.network_profiles"
PRIORITY_KEY = "NetworkConfigurationPriority"
ACTIVE_SLOT_KEY = "ActiveNetworkProfile"
MAX_SLOTS = 8  # configurationSlot 1..MAX_SLOTS
VERSIONS = {"OCPP16": "1.6", "OCPP20": "2.0.1"}


@dataclass(frozen=True)
class Profile:
    slot: int
    url: str  # as the CSMS gave it (the charge point id is added like the config file's)
    version: str  # "1.6" | "2.0.1"
    security_profile: int
    message_timeout: int
    interface: str

    def as_json(self) -> dict[str, Any]:
        return {
            "slot": self.slot,
            "url": self.url,
            "version": self.version,
            "security_profile": self.security_profile,
            "message_timeout": self.message_timeout,
            "interface": self.interface,
        }

    @staticmethod
    def from_json(d: dict[str, Any]) -> Profile:
        return Profile(
            int(d["slot"]),
            str(d["url"]),
            str(d["version"]),
            int(d["security_profile"]),
            int(d["message_timeout"]),
            str(d["interface"]),
        )


class NetworkProfiles:
    """The stored profiles and which one the connection loop tries next."""

    def __init__(
        self,
        store: Store,
        settings: OcppSettings,
        options: OcppOptions,
        security_problem: Callable[[int, str], str | None],
    ) -> None:
        self.store = store
        self.settings = settings
        self.options = options
        # why a security profile cannot be used with a URL (certificates, wss://), or None
        self.security_problem = security_problem
        self.profiles: dict[int, Profile] = {}
        self.active = 0  # the slot of the connection in use (0: the configuration file's)
        self._plan: list[int] = []  # the slots to try, in order (0 last)
        self._index = 0
        self._failures = 0

    async def load(self) -> None:
        raw = await self.store.get_setting(STORE_KEY)
        self.profiles = {}
        if isinstance(raw, dict):
            for value in raw.values():
                try:
                    p = Profile.from_json(value)
                except (KeyError, TypeError, ValueError):
                    log.warning("ocpp.network_profile.unreadable", value=json.dumps(value)[:200])
                    continue
                self.profiles[p.slot] = p
        self.settings.validators[PRIORITY_KEY] = self._check_priority
        self.settings.live[ACTIVE_SLOT_KEY] = lambda: str(self.active)
        self._plan = [s for s in self.priority() if s in self.profiles] + [0]
        self._index = 0
        self._failures = 0

    def priority(self) -> list[int]:
        return [int(s) for s in self.settings.get_csl(PRIORITY_KEY) if s.isdigit()]

    def _check_priority(self, value: str) -> str | None:
        slots = [s.strip() for s in value.split(",") if s.strip()]
        for s in slots:
            if not s.isdigit() or int(s) not in self.profiles:
                return f"no network profile in slot {s}"
        if len(set(slots)) != len(slots):
            return "a slot is listed twice"
        return None

    # -- SetNetworkProfile ----------------------------------------------------------

    def problem(self, slot: int, data: dict[str, Any]) -> str | None:
        """Why this profile cannot be stored (a short reason code), or None."""
        if not 1 <= slot <= MAX_SLOTS:
            return "InvalidSlot"
        if slot == self.active:
            return "SlotInUse"
        if data.get("ocpp_transport") != "JSON":
            return "NoSOAP"
        if data.get("ocpp_version") not in VERSIONS:
            return "UnsupportedVersion"
        if data.get("vpn") or data.get("apn"):
            return "NoVpnOrApn"
        url = str(data.get("ocpp_csms_url", ""))
        if not url.startswith(("ws://", "wss://")) or "{" in url.replace("{id}", ""):
            return "InvalidURL"
        security = int(data.get("security_profile", -1))
        if not 0 <= security <= 3:
            return "InvalidSecurityProfile"
        if security < self.settings.get_int("SecurityProfile"):
            return "NoDowngrade"
        if int(data.get("message_timeout", 0)) <= 0:
            return "InvalidTimeout"
        if self.security_problem(security, url):
            return "SecurityNotReady"
        return None

    async def store_profile(self, slot: int, data: dict[str, Any]) -> None:
        self.profiles[slot] = Profile(
            slot,
            str(data["ocpp_csms_url"]),
            VERSIONS[str(data["ocpp_version"])],
            int(data["security_profile"]),
            int(data["message_timeout"]),
            str(data.get("ocpp_interface", "")),
        )
        await self.store.set_setting(
            STORE_KEY, {str(s): p.as_json() for s, p in sorted(self.profiles.items())}
        )
        log.info("ocpp.network_profile.stored", slot=slot, url=data["ocpp_csms_url"])

    # -- the connection loop's plan -------------------------------------------------

    def current(self) -> int:
        return self._plan[self._index] if self._plan else 0

    def target(self, base: Target) -> Target:
        """The connection to try now: a stored profile, else the configuration file's."""
        slot = self.current()
        p = self.profiles.get(slot)
        if p is None:
            return base
        # never below the station's SecurityProfile (raised by a connection of a higher
        # one): a profile stored before that now fails rather than downgrades
        floor = self.settings.get_int("SecurityProfile")
        return replace(
            base,
            url=csms_url(p.url, self.options.charge_point_id),
            subprotocols=[NAMES[p.version]],
            security_profile=max(p.security_profile, floor),
        )

    def message_timeout(self, default: float) -> float:
        """Seconds to wait for an answer over the connection being tried."""
        p = self.profiles.get(self.current())
        return float(p.message_timeout) if p is not None else default

    def failed(self) -> None:
        """A connection attempt failed: after NetworkProfileConnectionAttempts of them,
        the next profile of the list (and after the last, the first again)."""
        self._failures += 1
        if self._failures < self.settings.get_int("NetworkProfileConnectionAttempts"):
            return
        previous = self.current()
        self._failures = 0
        self._index = (self._index + 1) % max(1, len(self._plan))
        if self.current() != previous:
            log.warning("ocpp.network_profile.fallback", failed=previous, next=self.current())

    def connected(self) -> None:
        """The CSMS accepted this connection: this profile is the active one."""
        self._failures = 0
        self.active = self.current()


class NetworkProfileBlock(Block):
    @on("SetNetworkProfile")
    async def on_set_network_profile(
        self, configuration_slot: int, connection_data: dict[str, Any], **_: Any
    ) -> call_result.SetNetworkProfile:
        network = self.ctx.network
        if network is None:
            return call_result.SetNetworkProfile(
                status="Failed", status_info={"reason_code": "NoProfiles"}
            )
        why = network.problem(configuration_slot, connection_data)
        if why is not None:
            log.info("ocpp.network_profile.rejected", slot=configuration_slot, why=why)
            return call_result.SetNetworkProfile(
                status="Rejected", status_info={"reason_code": why}
            )
        try:
            await network.store_profile(configuration_slot, connection_data)
        except (OSError, sqlite3.Error) as e:
            log.error("ocpp.network_profile.store_failed", error=repr(e))
            return call_result.SetNetworkProfile(
                status="Failed", status_info={"reason_code": "StoreFailed"}
            )
        return call_result.SetNetworkProfile(status="Accepted")
