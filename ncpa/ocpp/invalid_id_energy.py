"""TxCtrlr.MaxEnergyOnInvalidId (2.0.1 E05): the CSMS refuses the idToken of a transaction
that has started (authorized offline, or by the cache), and StopTxOnInvalidId is false:
the transaction goes on, but may take only that much energy (Wh, counted from its start).
Then its connector gets 0 A from the `invalid_id` limit source (status SuspendedEVSE; a
2.0.1 ChargingStateChanged) until the transaction ends. 0, the default: no cap, as 1.6.
"""

from __future__ import annotations

from collections.abc import Callable

from ncpa.charging.station import ChargingStation
from ncpa.events import MeterSample, TransactionStopped
from ncpa.log import get_logger

log = get_logger(__name__)

SOURCE = "invalid_id"


class InvalidIdEnergy:
    def __init__(self, station: ChargingStation) -> None:
        self.station = station
        self._caps: dict[int, float] = {}  # transaction id -> Wh it may take in all
        self._unsubscribe: list[Callable[[], None]] = []

    def attach(self) -> None:
        bus = self.station.bus
        self._unsubscribe = [
            bus.subscribe(self._sample, MeterSample),
            bus.subscribe(self._stopped, TransactionStopped),
        ]

    def detach(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    def watch(self, transaction_id: int, max_wh: float) -> None:
        """Cap an open transaction refused by the CSMS (max_wh > 0)."""
        self._caps[transaction_id] = max_wh
        log.warning("ocpp.invalid_id.capped", tx=transaction_id, max_wh=max_wh)

    def _sample(self, ev: MeterSample) -> None:
        cap = self._caps.get(ev.transaction_id) if ev.transaction_id is not None else None
        if cap is None:
            return
        tx = self.station.view(ev.connector_id).transaction
        if tx is None or tx.id != ev.transaction_id:
            return
        if ev.reading.energy_wh - tx.meter_start_wh >= cap:
            if SOURCE not in self.station.limits.sources(ev.connector_id):
                log.warning("ocpp.invalid_id.energy_reached", tx=tx.id, max_wh=cap)
            self.station.limits.set(SOURCE, 0.0, ev.connector_id)

    def _stopped(self, ev: TransactionStopped) -> None:
        if self._caps.pop(ev.transaction_id, None) is not None:
            self.station.limits.set(SOURCE, None, ev.connector_id)
