"""One broker connection at a time, reconnected with backoff; publishing never waits for it.

`retain(topic, payload)` keeps the newest payload per topic (state documents, discovery
configs): memory is bounded by the number of topics, and every one of them is sent again
on each (re)connect, so the broker holds the state as it is now. `send(topic, payload)`
queues a message that is not retained (command results), in a bounded queue whose
oldest entries give way. The charging core never waits on any of this: a broker that
is away only delays the state it sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from collections.abc import Awaitable, Callable

import aiomqtt

from ncpa.config import ConfigError
from ncpa.home.settings import MqttSettings
from ncpa.home.topics import OFFLINE, ONLINE, Topics
from ncpa.log import get_logger
from ncpa.ocpp.backoff import Backoff

log = get_logger(__name__)

QOS = 1
STOP_TIMEOUT_S = 2.0
PROTOCOLS = {"3.1.1": aiomqtt.ProtocolVersion.V311, "5": aiomqtt.ProtocolVersion.V5}
HA_ONLINE = b"online"


def tls_context(s: MqttSettings) -> ssl.SSLContext | None:
    if not s.tls:
        return None
    ctx = ssl.create_default_context(cafile=s.ca_file or None)
    if s.cert_file:
        ctx.load_cert_chain(s.cert_file, s.key_file)
    if s.tls_insecure:
        ctx.check_hostname = False
    return ctx


class MqttLink:
    def __init__(
        self,
        settings: MqttSettings,
        topics: Topics,
        on_message: Callable[[str, bytes, bool], Awaitable[None]],
        subscriptions: list[str],
    ) -> None:
        self.settings = settings
        self.topics = topics
        self.on_message = on_message
        self.subscriptions = subscriptions
        self.backoff = Backoff(settings.backoff_min_s, settings.backoff_max_s)
        self.connected = False
        self.connects = 0  # successful connections so far (tests, benches)
        self._retained: dict[str, str] = {}
        self._dirty: set[str] = set()
        self._queue: deque[tuple[str, str]] = deque(maxlen=settings.queue_limit)
        self._wake = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        try:  # a bad CA or key file fails at start, not in the loop
            self._tls = tls_context(settings)
        except (OSError, ssl.SSLError) as e:
            raise ConfigError(f"mqtt: TLS files: {e}") from e

    # -- what the publisher calls (never blocks) --------------------------------------

    def retain(self, topic: str, payload: str) -> None:
        if self._retained.get(topic) == payload:
            return
        self._retained[topic] = payload
        self._dirty.add(topic)
        self._wake.set()

    def send(self, topic: str, payload: str) -> None:
        self._queue.append((topic, payload))
        self._wake.set()

    def republish(self) -> None:
        """Send every retained payload again (HA restarted, or a new connection)."""
        self._dirty.update(self._retained)
        self._wake.set()

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="mqtt")

    async def stop(self) -> None:
        client = self._client
        if client is not None and self.connected:
            with contextlib.suppress(Exception):  # a clean goodbye, if the broker is there
                async with asyncio.timeout(1.0):
                    await client.publish(self.topics.availability, OFFLINE, qos=QOS, retain=True)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            # a client library stuck on a dead socket must not hold up the daemon's stop
            done, _ = await asyncio.wait({task}, timeout=STOP_TIMEOUT_S)
            if not done:
                log.warning("mqtt.stop_timeout")

    def _client_for(self) -> aiomqtt.Client:
        s = self.settings
        return aiomqtt.Client(
            s.host,
            s.port,
            username=s.username or None,
            password=s.password or None,
            identifier=s.client_id,
            protocol=PROTOCOLS[s.protocol],
            will=aiomqtt.Will(self.topics.availability, OFFLINE, qos=QOS, retain=True),
            keepalive=s.keepalive,
            timeout=5.0,
            tls_context=self._tls,
            max_queued_incoming_messages=100,  # commands beyond this wait in the broker
        )

    async def _run(self) -> None:
        while True:
            try:
                async with self._client_for() as client:
                    self._client = client
                    await self._session(client)
            except aiomqtt.MqttError as e:
                self._lost(str(e))
            except (OSError, ssl.SSLError) as e:
                self._lost(f"{type(e).__name__}: {e}")
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not end MQTT for good, nor charging at all
                log.exception("mqtt.failed")
                self._lost("internal error")
            finally:
                if self._client is not None:
                    _retrieve_disconnect(self._client)
                self._client = None
                self.connected = False
            await asyncio.sleep(self.backoff.next())

    def _lost(self, why: str) -> None:
        if self.connected or self.backoff.failures == 0:
            log.warning("mqtt.disconnected", host=self.settings.host, error=why)

    async def _session(self, client: aiomqtt.Client) -> None:
        await client.publish(self.topics.availability, ONLINE, qos=QOS, retain=True)
        for topic in self.subscriptions:
            await client.subscribe(topic, qos=QOS)
        self.connected = True
        self.connects += 1
        self.backoff.reset()
        log.info("mqtt.connected", host=self.settings.host, port=self.settings.port)
        self.republish()
        tasks = {
            asyncio.create_task(self._receive(client), name="mqtt-receive"),
            asyncio.create_task(self._pump(client), name="mqtt-pump"),
        }
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            task.result()  # the MqttError that ended the session: reconnect

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload
            data = payload if isinstance(payload, bytes) else str(payload or "").encode()
            await self.on_message(str(message.topic), data, bool(message.retain))

    async def _pump(self, client: aiomqtt.Client) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._dirty:
                topic = self._dirty.pop()
                await client.publish(topic, self._retained[topic], qos=QOS, retain=True)
            while self._queue:
                topic, payload = self._queue[0]
                await client.publish(topic, payload, qos=QOS, retain=False)
                self._queue.popleft()


def is_ha_birth(payload: bytes) -> bool:
    return payload.strip() == HA_ONLINE


def _retrieve_disconnect(client: aiomqtt.Client) -> None:
    """aiomqtt 2.x leaves the reason of a lost connection in a future nobody awaits once
    the session has ended; asyncio would log "Future exception was never retrieved" for
    each drop. We have logged the reason already."""
    fut = getattr(client, "_disconnected", None)
    if isinstance(fut, asyncio.Future) and fut.done() and not fut.cancelled():
        fut.exception()
