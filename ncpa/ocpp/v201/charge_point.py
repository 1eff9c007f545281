"""The OCPP 2.0.1 handlers: one block per functional block, over the context (the adapter
puts them behind the version-neutral RPC endpoint)."""

from __future__ import annotations

from ncpa.ocpp.v201.authorization import AuthorizationBlock
from ncpa.ocpp.v201.availability import AvailabilityBlock
from ncpa.ocpp.v201.data_transfer import DataTransferBlock
from ncpa.ocpp.v201.diagnostics import DiagnosticsBlock
from ncpa.ocpp.v201.firmware import FirmwareBlock
from ncpa.ocpp.v201.monitors import MonitorsBlock
from ncpa.ocpp.v201.network_profile import NetworkProfileBlock
from ncpa.ocpp.v201.provisioning import ProvisioningBlock
from ncpa.ocpp.v201.remote_control import RemoteControlBlock
from ncpa.ocpp.v201.reservation import ReservationBlock
from ncpa.ocpp.v201.security import SecurityBlock
from ncpa.ocpp.v201.smart_charging import SmartChargingBlock
from ncpa.ocpp.v201.transaction_status import TransactionStatusBlock


class ChargePoint201(
    ProvisioningBlock,
    AuthorizationBlock,
    AvailabilityBlock,
    RemoteControlBlock,
    TransactionStatusBlock,
    SmartChargingBlock,
    DataTransferBlock,
    NetworkProfileBlock,
    SecurityBlock,
    FirmwareBlock,
    DiagnosticsBlock,
    MonitorsBlock,
    ReservationBlock,
):
    """Routes by the `@on` handlers of its blocks (ncpa/ocpp/handler_base.py)."""
