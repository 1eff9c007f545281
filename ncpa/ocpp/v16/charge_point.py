"""The OCPP 1.6J handlers: one mixin per feature profile, over the context (the adapter
puts them behind the version-neutral RPC endpoint)."""

from __future__ import annotations

from ncpa.ocpp.v16.core import CoreHandlers
from ncpa.ocpp.v16.firmware import FirmwareHandlers
from ncpa.ocpp.v16.local_list import LocalListHandlers
from ncpa.ocpp.v16.remote_trigger import TriggerHandlers
from ncpa.ocpp.v16.reservation import ReservationHandlers
from ncpa.ocpp.v16.security import SecurityHandlers
from ncpa.ocpp.v16.smart_charging import SmartChargingHandlers


class ChargePoint(
    CoreHandlers,
    LocalListHandlers,
    ReservationHandlers,
    TriggerHandlers,
    SmartChargingHandlers,
    FirmwareHandlers,
    SecurityHandlers,
):
    """Routes by the `@on` handlers of its blocks (ncpa/ocpp/handler_base.py)."""
