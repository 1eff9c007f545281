"""MqttService: the home-automation component (start/stop), wired by the daemon.

    mqtt = MqttService(parse_mqtt_settings(cfg), station, energy, csms=..., sw_version=...)
    await mqtt.start() ... await mqtt.stop()

It subscribes to the core's events and calls the core's commands like the local API;
it owns no charging decision, so a broker that is away changes nothing but the state
the broker holds (republished in full on reconnect).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from ncpa.charging.station import ChargingStation
from ncpa.energy.limits import PAUSE
from ncpa.energy.manager import EnergyManager
from ncpa.events import TransactionStopped
from ncpa.home.commands import CommandHandler, Result
from ncpa.home.connection import MqttLink, is_ha_birth
from ncpa.home.discovery import discovery_messages
from ncpa.home.publisher import StatePublisher, dumps
from ncpa.home.settings import MqttSettings
from ncpa.home.topics import Topics
from ncpa.log import get_logger

log = get_logger(__name__)


class MqttService:
    def __init__(
        self,
        settings: MqttSettings,
        station: ChargingStation,
        energy: EnergyManager,
        *,
        csms: Callable[[], str],
        sw_version: str,
    ) -> None:
        self.settings = settings
        self.station = station
        self.topics = Topics(settings.topic_prefix)
        self._ha_status = (
            f"{settings.discovery_prefix}/status" if settings.discovery_prefix else None
        )
        subscriptions = list(self.topics.subscriptions)
        if self._ha_status:
            subscriptions.append(self._ha_status)
        self.link = MqttLink(settings, self.topics, self._on_message, subscriptions)
        self.commands = CommandHandler(
            self.topics,
            station,
            energy.set_charging_mode,
            energy.external,
            settings.id_tag,
        )
        self.publisher = StatePublisher(
            self.link,
            self.topics,
            station,
            energy=energy,
            csms=csms,
            mode=lambda: (energy.modes.mode, energy.modes.state),
            external_limit=lambda: energy.external.get(),
            meter_interval_s=settings.meter_interval_s,
        )
        self._sw_version = sw_version
        self._unsubscribe: Callable[[], None] | None = None

    def _discovery(self) -> None:
        if not self.settings.discovery_prefix:
            return
        st = self.station.config.station
        for topic, payload in discovery_messages(
            self.topics,
            self.settings.discovery_prefix,
            station_id=st.id,
            model=st.model,
            vendor=st.vendor,
            serial=st.serial,
            sw_version=self._sw_version,
            connector_ids=self.station.connector_ids,
            max_current=st.absolute_max_current,
        ):
            self.link.retain(topic, dumps(payload))

    async def start(self) -> None:
        self._discovery()
        # a pause belongs to the session it paused
        self._unsubscribe = self.station.bus.subscribe(self._session_ended, TransactionStopped)
        self.publisher.start()
        self.link.start()
        log.info("mqtt.started", host=self.settings.host, prefix=self.settings.topic_prefix)

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        await self.publisher.stop()
        await self.link.stop()

    def _session_ended(self, event: TransactionStopped) -> None:
        self.station.limits.set(PAUSE, None, event.connector_id)

    async def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        if topic == self._ha_status:
            if is_ha_birth(payload):
                self.link.republish()  # HA restarted without a persistent broker
            return
        if retained:
            # a command someone published retained would act again on every reconnect
            result = Result(topic, "", False, "retained command ignored (publish without -r)")
        else:
            result = await self.commands.handle(topic, payload)
        self.link.send(self.topics.result, json.dumps(result.to_json()))
        self.publisher.refresh()  # the effect (mode, limit) is on the state topics at once
