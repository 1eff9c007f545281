"""OcppContext: the services a version adapter's handlers may use, passed explicitly.

Handlers get this (as libocpp's functional blocks get their context), never the whole
client. `ops` are the few client operations a handler can ask for (a reset, a trigger,
a remote start), behind a narrow Protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ncpa.ocpp.authorization import AuthCache, RemoteAuthorization
    from ncpa.ocpp.certificates import CertificateStore
    from ncpa.ocpp.diagnostics import Diagnostics
    from ncpa.ocpp.firmware import FirmwareManager
    from ncpa.ocpp.frame_trace import FrameTrace
    from ncpa.ocpp.options import OcppOptions
    from ncpa.ocpp.outbox import Outbox
    from ncpa.ocpp.security_log import SecurityLog
    from ncpa.ocpp.settings import OcppSettings
    from ncpa.ocpp.smart_charging import SmartCharging
    from ncpa.ocpp.station_port import StationPort
    from ncpa.ocpp.transactions import TransactionRecorder
    from ncpa.ocpp.v201.monitoring import DeviceMonitoring
    from ncpa.ocpp.v201.network_profile import NetworkProfiles


class ClientOps(Protocol):
    """What handlers may ask of the client: each runs after the reply has gone out."""

    async def reset(self, kind: str, evse_id: int | None = None) -> None: ...
    async def trigger(self, message: str, connector_id: int | None) -> None: ...
    async def remote_start(
        self,
        id_tag: str,
        connector_id: int | None,
        profile: dict[str, Any] | None,
        authorize: bool,
    ) -> None: ...
    async def remote_start_profile(
        self, id_tag: str, connector_id: int | None, profile: dict[str, Any]
    ) -> None: ...
    async def local_transaction(self, remote_id: str) -> int | None: ...
    def registered(self) -> bool: ...
    async def certificate_installed(self) -> None: ...
    def uses_installed_csms_root(self) -> bool: ...
    async def send_status(self, connector_id: int, while_pending: bool = False) -> None: ...
    async def try_send(self, payload: Any, while_pending: bool = False) -> Any | None:
        """A live call now; None when offline or it failed (logged)."""
        ...

    def current_subprotocol(self) -> str | None:
        """The subprotocol of the accepted session; None when not registered."""
        ...


@dataclass
class OcppContext:
    station: StationPort
    settings: OcppSettings
    options: OcppOptions
    outbox: Outbox
    recorder: TransactionRecorder
    cache: AuthCache
    auth: RemoteAuthorization
    smart: SmartCharging
    certs: CertificateStore
    security: SecurityLog
    firmware: FirmwareManager
    diagnostics: Diagnostics
    frame_trace: FrameTrace
    ops: ClientOps
    firmware_version: str
    instance_id: str = ""  # this database's identity (prefix of our own transaction ids)
    # how an id token was presented when the CSMS named its type (2.0.1 RequestStart)
    id_token_types: dict[str, str] = field(default_factory=dict)
    # the CSMS's remoteStartId of a pending remote start, by id token (2.0.1 F01)
    remote_start_ids: dict[str, int] = field(default_factory=dict)
    # the stored network connection profiles (2.0.1 SetNetworkProfile); set by start()
    network: NetworkProfiles | None = None
    # 2.0.1 N: hardware-fault events and the CSMS's monitors (None when 2.0.1 is not offered)
    monitoring: DeviceMonitoring | None = None
