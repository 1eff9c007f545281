"""OcppClient: the entry point the daemon starts when a CSMS URL is configured.

    client = OcppClient(station, config)
    await client.start()   # returns at once; connects, boots and reconnects in the background
    ...
    await client.stop()

It owns the OCPP settings, the outbox, the authorization cache and the
connection loop; remote commands become calls on the station.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
import time
from collections.abc import Callable, Coroutine
from importlib import metadata
from typing import Any

from ocpp.exceptions import NotImplementedError as OcppNotImplemented
from ocpp.exceptions import NotSupportedError as OcppNotSupported

from ncpa.charging.states import LockMode
from ncpa.charging.station import ChargingStation
from ncpa.charging.tx_points import DEFAULT as DEFAULT_TX_POINTS
from ncpa.config import Config
from ncpa.energy.limits import Limit
from ncpa.events import CardPresented
from ncpa.log import get_logger
from ncpa.ocpp.adapter import Adapter, Delivery, adapter_for
from ncpa.ocpp.authorization import AuthCache, RemoteAuthorization
from ncpa.ocpp.backoff import Backoff, RetryBackOff, doublings
from ncpa.ocpp.boot_reason import BootReasons, kernel_boot_id
from ncpa.ocpp.certificates import CertificateStore
from ncpa.ocpp.connection import ConnectError, Target, open_connection, subprotocols
from ncpa.ocpp.context import OcppContext
from ncpa.ocpp.diagnostics import Diagnostics
from ncpa.ocpp.firmware import FirmwareManager
from ncpa.ocpp.frame_trace import STORE_KEY as FRAME_TRACE_KEY
from ncpa.ocpp.frame_trace import FrameTrace
from ncpa.ocpp.invalid_id_energy import InvalidIdEnergy
from ncpa.ocpp.local_limits import LocalLimitWatch
from ncpa.ocpp.meter_values import meter_value
from ncpa.ocpp.options import OcppOptions, parse_options
from ncpa.ocpp.outbox import START, STOP, UPDATE, Item, Outbox
from ncpa.ocpp.reservation_notices import ReservationNotices
from ncpa.ocpp.security_log import SecurityLog
from ncpa.ocpp.session import CALL_FAILURES, Session
from ncpa.ocpp.settings import OcppSettings
from ncpa.ocpp.smart_charging import SmartCharging
from ncpa.ocpp.tasks import cancel_all, supervised
from ncpa.ocpp.transactions import AUTHORIZED, TransactionRecorder
from ncpa.ocpp.v201 import tx_points
from ncpa.ocpp.v201.network_profile import NetworkProfiles
from ncpa.store import WhitelistEntry
from ncpa.systemd import watchdog_interval

log = get_logger(__name__)

CSMS_ROOT = "CentralSystemRootCertificate"
INSTANCE_KEY = "ocpp.instance_id"
# store setting: the CSMS URL that answered SecurityEventNotification with NotImplemented
NO_SECURITY_EVENTS = "ocpp.security_events_unsupported"


class NotConnected(Exception):
    """No accepted session with the CSMS right now."""


class OcppClient:
    def __init__(self, station: ChargingStation, config: Config) -> None:
        self.station = station
        self.config = config
        self.options: OcppOptions = parse_options(config)
        # the config file's connection timeout is the default of ConnectionTimeOut
        timeout = str(max(1, math.ceil(config.charging.connection_timeout)))
        o = self.options
        wait = max(1, round(o.backoff_min))
        self.settings = OcppSettings(
            station.store,
            len(station.connector_ids),
            {
                "ConnectionTimeOut": timeout,
                "RetryBackOffWaitMinimum": str(wait),
                "RetryBackOffRepeatTimes": str(doublings(o.backoff_min, o.backoff_max)),
                "RetryBackOffRandomRange": str(wait),
            },
        )
        # read-only keys the charging core decides: report what it applies
        self.settings.live["StopTransactionOnEVSideDisconnect"] = lambda: "true"
        self.settings.live["UnlockConnectorOnEVSideDisconnect"] = self._unlocks_on_ev_disconnect
        self.outbox = Outbox(station.store, self.options.outbox_max_rows)
        self.cache = AuthCache(station.store)
        self.recorder = TransactionRecorder(station, self.settings, self.outbox)
        self.recorder.online = lambda: self.connected.is_set()
        self.auth = RemoteAuthorization(self.settings, self.cache, self._ask_csms, self._listed)
        self.smart = SmartCharging(station, self.outbox, self.settings)
        self.local_limits = LocalLimitWatch(
            station.limits,
            station.connector_ids,
            self._tell_charging_limit,
            lambda: self.settings.get_int("LimitChangeSignificance") / 100,
        )
        base = self.options.data_dir / "ocpp"
        self.certs = CertificateStore(
            base / "certs", self.settings.get_int("CertificateStoreMaxLength")
        )
        self.security = SecurityLog(station.store)
        self.security.sender = self._send_security_event
        self._preemptible: asyncio.Future[Any] | None = None
        self.firmware = FirmwareManager(self, base / "firmware")
        self.diagnostics = Diagnostics(self, base / "diagnostics")
        self.session: Session | None = None
        self.frame_trace = FrameTrace()
        self.firmware_version = _version()
        self.ctx = OcppContext(
            station=station,
            settings=self.settings,
            options=self.options,
            outbox=self.outbox,
            recorder=self.recorder,
            cache=self.cache,
            auth=self.auth,
            smart=self.smart,
            certs=self.certs,
            security=self.security,
            firmware=self.firmware,
            diagnostics=self.diagnostics,
            frame_trace=self.frame_trace,
            ops=self,
            firmware_version=self.firmware_version,
        )
        # C: the version's cache rules before the first connection (each adapter sets its
        # own), and the id token types the CSMS named (2.0.1)
        first = self.options.version if self.options.version != "auto" else self.options.auto_order
        self.auth.version = first.split(",")[0].strip()
        self.auth.token_type = lambda id_tag: self.ctx.id_token_types.get(id_tag, "")
        self.auth.online = lambda: self.connected.is_set()
        self.reservation_notices = ReservationNotices(
            station.bus, self._reservation_notice, station.store
        )
        # now, before the station starts: a reservation it ends at start-up is told too
        self.reservation_notices.attach()
        self.invalid_id_energy = InvalidIdEnergy(station)
        self._card_unsubscribe: Callable[[], None] | None = None
        self.boot_reason = "PowerUp"
        self.boot_reasons: BootReasons | None = None  # set by start()
        self.network: NetworkProfiles | None = None  # set by start()
        self._target: Target | None = None  # the connection tried last
        self.restart_reason = ""  # the reason of a restart of ours that is coming
        # called for Reset (kind "Soft"/"Hard") once the sessions are stopped and their
        # messages are in the outbox; the daemon sets it to restart the process
        # (`client.on_reset = lambda kind: daemon.request_restart()`). Without it the
        # client reconnects and boots again.
        self.on_reset: Callable[[str], None] | None = None
        self.connected = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._reconnect = asyncio.Event()
        # 1.6: the config file's backoff (full jitter); 2.0.1 (and auto): OCPPCommCtrlr's
        self._backoff: Backoff | RetryBackOff = Backoff(o.backoff_min, o.backoff_max)
        if o.version != "1.6":
            s = self.settings

            def seconds(key: str) -> float:  # never set: the config file's, to the ms
                return float(s.get_int(key)) if s.is_set(key) else o.backoff_min

            self._backoff = RetryBackOff(
                lambda: seconds("RetryBackOffWaitMinimum"),
                lambda: s.get_int("RetryBackOffRepeatTimes"),
                lambda: seconds("RetryBackOffRandomRange"),
            )
        self._last_failure = ""
        self._background: set[asyncio.Task[None]] = set()
        self._aligned_changed = asyncio.Event()  # an aligned-data interval was changed
        self._csr_task: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        initial = {"SecurityProfile": str(self.options.security_profile)}
        if self.options.authorization_key:
            initial["AuthorizationKey"] = self.options.authorization_key
        await self.settings.load(initial)
        self.settings.validators["SecurityProfile"] = self._check_security_profile
        for key in tx_points.KEYS:
            self.settings.validators[key] = tx_points.not_empty
        self.settings.on_change(self._setting_changed)
        await self._open_frame_trace()
        self.ctx.instance_id = await self._instance_id()
        # why we (re)started: noted before a restart of ours, else read from the last run
        self.boot_reasons = BootReasons(
            self.station.store,
            self.firmware_version,
            watchdog_interval() is not None,
            kernel_boot_id(),
        )
        self.boot_reason = await self.boot_reasons.at_start()
        # the CSMS connections the loop may try (2.0.1 network profiles, with fallback)
        self.network = NetworkProfiles(
            self.station.store, self.settings, self.options, self._security_problem
        )
        await self.network.load()
        self.ctx.network = self.network
        await self.outbox.open()
        await self.cache.open()
        await self.security.open()
        await self.smart.start()
        if self.options.version != "1.6":
            # 2.0.1 N: faults become NotifyEvents, also those that happen offline
            from ncpa.ocpp.v201.monitoring import DeviceMonitoring

            self.ctx.monitoring = DeviceMonitoring(self.ctx)
            await self.ctx.monitoring.start()
        self.recorder.attach()
        await self.reservation_notices.load()
        self.invalid_id_energy.attach()
        # a card at the reader is a card (ISO14443), whatever the CSMS once called that id
        self._card_unsubscribe = self.station.bus.subscribe(self._card_presented, CardPresented)
        await self.recorder.reconcile()
        repaired = await self.outbox.repair_remote_ids()
        if repaired:
            log.warning("ocpp.outbox.remote_ids_repaired", transactions=repaired)
        authorizer = self.station.authorizer
        authorizer.remote = self.auth
        self.sync_pre_authorize()
        self.sync_core_settings()
        self._tasks = [
            asyncio.create_task(supervised(name, work), name=name)
            for name, work in (
                ("ocpp-recorder", self.recorder.run),
                ("ocpp-aligned", self._aligned),
                ("ocpp-local-limits", self.local_limits.run),
                ("ocpp-connection", self._run),
            )
        ]
        log.info("ocpp.started", url=self.options.url, version=self.options.version)
        await self.security.event("StartupOfTheDevice")

    async def _instance_id(self) -> str:
        """A short random id of this database, made once (our own transaction ids carry
        it, so they stay unique even when a charger's database is replaced)."""
        store = self.station.store
        value = await store.get_setting(INSTANCE_KEY)
        if not isinstance(value, str) or not value:
            value = secrets.token_hex(4)
            await store.set_setting(INSTANCE_KEY, value)
        return value

    async def _open_frame_trace(self) -> None:
        """The installer's switch (kept in the store) wins over the config file."""
        store = self.station.store
        stored = await store.get_setting(FRAME_TRACE_KEY)
        self.frame_trace.enabled = bool(stored) if stored is not None else self.options.frame_trace

        async def persist(on: bool) -> None:
            await store.set_setting(FRAME_TRACE_KEY, on)

        self.frame_trace.persist = persist

    async def stop(self) -> None:
        self.recorder.detach()
        await self.reservation_notices.detach()
        self.invalid_id_energy.detach()
        if self._card_unsubscribe is not None:
            self._card_unsubscribe()
            self._card_unsubscribe = None
        if self.station.authorizer.remote is self.auth:
            self.station.authorizer.remote = None
        # without the client, the core's own defaults apply again
        self.station.authorizer.local_list_enabled = True
        self.station.connection_timeout = self.config.charging.connection_timeout
        self.station.set_tx_points(DEFAULT_TX_POINTS)
        # let events already published reach the outbox before the writer stops
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.recorder.flush(), 5)
        await self.drain_stops()
        await cancel_all(*self._tasks)
        self._tasks = []
        await self.firmware.stop()
        if self._csr_task is not None:
            await cancel_all(self._csr_task)
        if self.ctx.monitoring is not None:
            await self.ctx.monitoring.stop()
        await self.smart.stop()
        reasons, self.boot_reasons = self.boot_reasons, None  # once, at the first stop()
        if reasons is not None:
            if self.restart_reason:
                await reasons.expect(self.restart_reason)
            await reasons.at_stop()
        log.info("ocpp.stopped")

    def note_restart(self, reason: str) -> None:
        """A restart of the agent is coming for `reason` (LocalReset: the local API's
        reboot); the next BootNotification says so. Noted in the store at stop()."""
        self.restart_reason = reason

    # -- connection loop ---------------------------------------------------------------

    def target(self) -> Target:
        s = self.settings
        o = self.options
        return Target(
            url=o.url,
            subprotocols=subprotocols(self.options.version, self.options.auto_order),
            security_profile=s.get_int("SecurityProfile"),
            charge_point_id=o.charge_point_id,
            authorization_key=s.get("AuthorizationKey"),
            ca_files=[f for f in [o.ca_file] if f] + self.certs.root_files(CSMS_ROOT),
            client_cert=str(self.certs.cp_cert) if self.certs.cp_cert.exists() else o.client_cert,
            client_key=str(self.certs.cp_key) if self.certs.cp_key.exists() else o.client_key,
            ping_interval=float(s.get_int("WebSocketPingInterval")) or None,
        )

    async def _run(self) -> None:
        while True:
            self._reconnect.clear()
            target = self.network.target(self.target()) if self.network else self.target()
            self._target = target
            try:
                ws = await open_connection(target)
            except ConnectError as e:
                if self.network is not None:
                    self.network.failed()  # after enough of them: the next profile
                delay = self._backoff.next()
                log.warning("ocpp.connect.failed", reason=e.reason, retry_in=round(delay, 2))
                await self._connect_security_event(e)
                await asyncio.sleep(delay)
                continue
            self._last_failure = ""
            adapter = adapter_for(ws.subprotocol)
            if adapter is None:
                # connection.py refuses a pick outside what we offered; this is a bug guard
                log.error("ocpp.subprotocol.unsupported", picked=ws.subprotocol)
                await ws.close()
                await asyncio.sleep(self._backoff.next())
                continue
            log.info("ocpp.connected", url=target.url, subprotocol=ws.subprotocol)
            session = Session(
                self.ctx,
                adapter,
                ws,
                on_accepted=self.session_accepted,
                on_answered=self.transaction_answered,
                boot_reason=self.boot_reason,
            )
            if self.network is not None:
                # a network profile's own messageTimeout for the calls of this connection
                session.rpc.call_timeout = self.network.message_timeout(session.rpc.call_timeout)
            self.session = session
            self.sync_tx_points()  # this version's
            runner = asyncio.create_task(session.run())
            waiter = asyncio.create_task(self._reconnect.wait())
            try:
                await asyncio.wait({runner, waiter}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                self.session = None
                await cancel_all(waiter, runner)
                self.connected.clear()
                self.sync_pre_authorize()
            if session.accepted.is_set():
                self._backoff.reset()
            delay = self._backoff.next()
            log.warning("ocpp.disconnected", retry_in=round(delay, 2))
            await asyncio.sleep(delay)

    def reconnect(self) -> None:
        """Drop the connection; the loop connects again (new settings take effect)."""
        self._reconnect.set()

    async def session_accepted(self, session: Session) -> None:
        self.connected.set()
        if self.network is not None:
            self.network.connected()
            await self._raise_security_profile()
        self.local_limits.resend()
        self.sync_pre_authorize()
        # in the background, so that a CSMS slow to answer them cannot hold up the outbox
        self._spawn(self._announce())

    async def _announce(self) -> None:
        """After boot: the status of every connector (queued behind the transaction messages
        of an outage, so they reach the CSMS in order), then security events recorded
        offline."""
        for cid in [0, *self.station.connector_ids]:
            status, code = self.current_status(cid)
            self.recorder.queue_status(cid, status, code)
        self.reservation_notices.kick()
        await self.security.flush()
        await self.firmware.resume()  # the restart into a new release, if that was one
        if self.ctx.monitoring is not None:
            await self.ctx.monitoring.flush()

    def _card_presented(self, ev: CardPresented) -> None:
        self.ctx.id_token_types.pop(ev.uid, None)

    async def _reservation_notice(self, reservation_id: int, status: str) -> bool:
        """A reservation that ended on its own, told live (ReservationNotices keeps it
        while offline)."""
        adapter = self.adapter
        if adapter is None or not self.connected.is_set():
            return False
        payload = adapter.notification("reservation", status, reservation_id)
        if payload is not None:
            await self.try_send(payload)
        return True

    # -- security ------------------------------------------------------------------------

    async def _send_security_event(self, kind: str, timestamp: str, info: str) -> bool | None:
        """None: not sent (offline, or preempted by an urgent call), not an attempt."""
        if not self.connected.is_set():
            return None
        if await self.station.store.get_setting(NO_SECURITY_EVENTS) == self.options.url:
            return True  # this CSMS said it has no SecurityEventNotification: kept in the log
        adapter = self.adapter
        if adapter is None:
            return None
        payload = adapter.security_event(kind, timestamp, info)
        # OCPP allows one call in flight: a CSMS that never answers this message would hold
        # the line for the whole timeout, so an Authorize (a driver at the reader) preempts it
        task = asyncio.ensure_future(self._send_unless_unsupported(payload))
        self._preemptible = task
        try:
            async with asyncio.timeout(min(self.options.call_timeout, 10)):
                res = await task
        except TimeoutError:
            return False
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if task.cancelled() and (current is None or not current.cancelling()):
                return None
            raise
        finally:
            self._preemptible = None
        return res is not None

    async def _send_unless_unsupported(self, payload: Any) -> Any | None:
        """try_send, but a CSMS that answers NotImplemented / NotSupported is remembered
        (per CSMS URL) and not sent security events again."""
        try:
            return await self.send(payload)
        except NotConnected:
            return None
        except (OcppNotImplemented, OcppNotSupported) as e:
            log.warning("ocpp.security_events.unsupported", url=self.options.url, code=e.code)
            await self.station.store.set_setting(NO_SECURITY_EVENTS, self.options.url)
            return True
        except CALL_FAILURES as e:
            log.warning("ocpp.call_failed", action=type(payload).__name__, error=repr(e))
            return None

    async def _connect_security_event(self, e: ConnectError) -> None:
        """One security event per kind of failure (not one per retry)."""
        kind = ""
        if e.status == 401:
            kind = "FailedToAuthenticateAtCentralSystem"
        elif "CERTIFICATE_VERIFY_FAILED" in e.reason:
            kind = "InvalidCentralSystemCertificate"
        elif "TLSV1_ALERT" in e.reason or "BAD_CERTIFICATE" in e.reason:
            kind = "InvalidChargePointCertificate"
        if kind and kind != self._last_failure:
            await self.security.event(kind, e.reason)
        self._last_failure = kind

    def uses_installed_csms_root(self) -> bool:
        """True when the TLS connection relies on an installed CSMS root only."""
        return self.settings.get_int("SecurityProfile") >= 2 and not self.options.ca_file

    async def sign_certificate(self) -> None:
        """SignCertificate with a CSR for a new key (ExtendedTriggerMessage, or renewal);
        asked again while no CertificateSigned comes (CertSigningWaitMinimum, doubling,
        CertSigningRepeatTimes)."""
        if self._csr_task is not None and not self._csr_task.done():
            await cancel_all(self._csr_task)  # a new request: its own repeats
        if await self._send_csr():
            self._csr_task = asyncio.create_task(self._repeat_csr(), name="ocpp-csr")

    async def _send_csr(self) -> bool:
        st = self.station.config.station
        csr = await asyncio.to_thread(
            self.certs.make_csr, st.serial, self.settings.get("CpoName") or st.vendor
        )
        adapter = self.adapter
        res = await self.try_send(adapter.sign_certificate(csr)) if adapter else None
        log.info("ocpp.sign_certificate", status=res.status if res else None)
        return res is not None and str(res.status) == "Accepted"

    async def _repeat_csr(self) -> None:
        wait = float(self.settings.get_int("CertSigningWaitMinimum"))
        for _ in range(self.settings.get_int("CertSigningRepeatTimes")):
            await asyncio.sleep(wait)
            if not self.certs.csr_pending:
                return  # CertificateSigned came
            log.warning("ocpp.sign_certificate.repeat", waited=wait)
            await self._send_csr()
            wait *= 2

    async def certificate_installed(self) -> None:
        """A new charge point certificate: use it from the next connection (profile 3)."""
        await self.security.event("ReconfigurationOfSecurityParameters", "charge point certificate")
        if self.settings.get_int("SecurityProfile") == 3:
            self.reconnect()

    # -- sending -----------------------------------------------------------------------

    @property
    def adapter(self) -> Adapter | None:
        """The adapter of the current connection (None offline)."""
        return self.session.adapter if self.session is not None else None

    async def notify(self, kind: str, status: str, request_id: int | None = None) -> None:
        """A status notification of a background job (firmware, diagnostics, log upload),
        live, in the version of the current connection; nothing when offline."""
        adapter = self.adapter
        payload = adapter.notification(kind, status, request_id) if adapter else None
        if payload is not None:
            await self.try_send(payload, while_pending=True)

    async def send(self, payload: Any, while_pending: bool = False) -> Any:
        """A live (not queued) call. Raises NotConnected, or the call's failure."""
        session = self.session
        if session is None or not (session.accepted.is_set() or while_pending):
            raise NotConnected(type(payload).__name__)
        return await session.call(payload)

    async def try_send(self, payload: Any, while_pending: bool = False) -> Any | None:
        try:
            return await self.send(payload, while_pending)
        except NotConnected:
            return None
        except CALL_FAILURES as e:
            log.warning("ocpp.call_failed", action=type(payload).__name__, error=repr(e))
            return None

    async def data_transfer(
        self, vendor_id: str, message_id: str | None = None, data: Any = None
    ) -> dict[str, Any]:
        """DataTransfer to the CSMS (1.6 Core, 2.0.1 P02), live, in the version of the
        connection: {"status": Accepted | Rejected | UnknownMessageId | UnknownVendorId,
        "data": ...}. Raises ValueError for ids OCPP cannot carry, NotConnected offline,
        or the call's failure (CallError, invalid answer, timeout)."""
        if not 1 <= len(vendor_id) <= 255 or (message_id is not None and len(message_id) > 50):
            raise ValueError("vendorId: 1 to 255 characters, messageId: at most 50")
        session = self.session
        if session is None or not session.accepted.is_set():
            raise NotConnected("DataTransfer")
        # raw: the payload classes would rename the keys inside `data` (snake/camel case)
        body = session.adapter.data_transfer(vendor_id, message_id, data)
        res = await session.rpc.call_raw("DataTransfer", body)
        return session.adapter.data_transfer_answer(res)

    def current_status(self, connector_id: int) -> tuple[str, str]:
        """(status, error code) of a connector now; connector 0 is the station as a whole."""
        if connector_id == 0:
            views = self.station.views()
            bad = [v for v in views if v.status == "Faulted"]
            status = "Faulted" if bad and len(bad) == len(views) else "Available"
            if all(v.status == "Unavailable" for v in views):
                status = "Unavailable"
            return status, "NoError"
        view = self.station.view(connector_id)
        return view.status, view.error_code

    async def send_status(self, connector_id: int, while_pending: bool = False) -> None:
        """A live StatusNotification (the answer to a TriggerMessage)."""
        status, code = self.current_status(connector_id)
        adapter = self.adapter
        if adapter is not None:
            await self.try_send(adapter.status(connector_id, status, code), while_pending)

    async def _tell_charging_limit(
        self, connector_id: int, limit: Limit | None, before: str | None
    ) -> bool:
        """True once the CSMS knows (or this version has nothing to tell it)."""
        adapter = self.adapter
        if adapter is None or not self.connected.is_set():
            return False
        payload = adapter.charging_limit(connector_id, limit, before)
        if payload is None:
            return True
        return await self.try_send(payload) is not None

    async def send_meter_values(
        self, connector_id: int, context: str, measurands: list[str]
    ) -> None:
        """A live MeterValues with the newest reading (TriggerMessage, aligned data idle)."""
        view = self.station.view(connector_id)
        sample = self.recorder.latest.get(connector_id)
        reading = sample.reading if sample is not None else view.last_reading
        if reading is None:
            log.info("ocpp.meter_values.no_reading", connector=connector_id)
            return
        mv = meter_value(reading, measurands, context, view.offered_a, self.recorder.phases)
        tx_remote = None
        if view.transaction is not None:
            tx_remote = await self.outbox.remote_id(view.transaction.id)
        adapter = self.adapter
        if adapter is not None:
            await self.try_send(
                adapter.meter_values(connector_id, mv, tx_remote), while_pending=True
            )

    async def _aligned(self) -> None:
        """Clock-aligned meter values (ClockAlignedDataInterval), online or not: those of a
        transaction go to the outbox. The ones kept for the transaction's end follow
        AlignedTxEndedInterval (2.0.1's AlignedDataCtrlr.TxEndedInterval; 0, the default,
        and under 1.6: the same interval)."""
        while True:
            interval = self.settings.get_int("ClockAlignedDataInterval")
            ended = self.settings.get_int("AlignedTxEndedInterval") or interval
            steps = [i for i in (interval, ended) if i > 0]
            self._aligned_changed.clear()
            if not steps:
                await self._aligned_changed.wait()
                continue
            now = time.time()
            due = min(now + i - (now % i) for i in steps)
            with contextlib.suppress(TimeoutError):
                # a new interval from the CSMS starts at once, not after the old one
                async with asyncio.timeout(due - now):
                    await self._aligned_changed.wait()
                    continue
            t = round(due)
            await self.send_aligned_meter_values(
                updated=interval > 0 and t % interval == 0,
                ended=ended > 0 and t % ended == 0,
            )

    async def send_aligned_meter_values(self, updated: bool = True, ended: bool = True) -> None:
        measurands = self.settings.get_csl("MeterValuesAlignedData") if updated else []
        stop_measurands = self.settings.get_csl("StopTxnAlignedData") if ended else []
        for cid in self.station.connector_ids:
            sample = self.recorder.latest.get(cid)
            if sample is None:
                continue
            if sample.transaction_id is not None:
                if measurands:
                    self.recorder.queue_meter(sample, "Sample.Clock", measurands)
                if stop_measurands:
                    self.recorder.remember_aligned(sample, stop_measurands)
            elif measurands and self.connected.is_set():
                await self.send_meter_values(cid, "Sample.Clock", measurands)

    # -- answers and commands --------------------------------------------------------------

    async def _ask_csms(self, id_tag: str) -> dict[str, Any] | None:
        if not self.connected.is_set():
            return None
        # a driver waits at the reader: do not wait the full call timeout for an answer,
        # nor behind a low-priority call that the CSMS may never answer
        low = self._preemptible
        if low is not None and not low.done():
            log.info("ocpp.preempt", action="SecurityEventNotification", for_="Authorize")
            low.cancel()
        adapter = self.adapter
        payload = adapter.authorize(id_tag) if adapter is not None else None
        if adapter is None or payload is None:
            return None
        try:
            res = await asyncio.wait_for(self.try_send(payload), min(self.options.call_timeout, 10))
        except TimeoutError:
            log.warning("ocpp.authorize.timeout", id_tag=id_tag)
            return None
        return adapter.authorize_answer(res) if res is not None else None

    async def transaction_answered(self, item: Item, delivery: Delivery) -> None:
        """A transaction message delivered: the id token's status it carried, the CSMS id."""
        info = delivery.id_tag_info
        id_tag = item.payload.get("id_tag")
        if info and id_tag:
            await self.auth.remember(id_tag, dict(info))
        authorizing = item.kind == UPDATE and item.payload.get("event") == AUTHORIZED
        if item.kind == START and delivery.remote_id is not None:
            # on disk already (Outbox.delivered); the open session's record learns it here
            self.station.note_remote_id(item.tx_id, delivery.remote_id)
            log.info("ocpp.transaction.started", tx=item.tx_id, csms_tx=delivery.remote_id)
        elif not authorizing:
            return
        if not id_tag:
            return  # begun at plug-in: its idToken, and the CSMS's word on it, come later
        refused = info and info.get("status") != "Accepted"
        if not refused:
            return
        if self.settings.get_bool("StopTransactionOnInvalidId"):
            status = info.get("status") if info else None
            log.warning("ocpp.transaction.deauthorized", tx=item.tx_id, status=status)
            await self.station.stop_transaction(item.tx_id, "DeAuthorized")
        elif (max_wh := self.settings.get_int("MaxEnergyOnInvalidId")) > 0:
            self.invalid_id_energy.watch(item.tx_id, float(max_wh))

    async def local_transaction(self, remote_id: str) -> int | None:
        """The open local transaction the CSMS calls `remote_id`."""
        local_ids = set(await self.outbox.local_ids(remote_id))
        for view in self.station.views():
            tx = view.transaction
            if tx is not None and tx.id in local_ids:
                return int(tx.id)
        return None

    async def remote_start(
        self,
        id_tag: str,
        connector_id: int | None,
        profile: dict[str, Any] | None,
        authorize: bool,
    ) -> None:
        parent = None
        connectors = None
        if authorize:
            result = await self.station.authorizer.authorize(id_tag)
            if result.status != "Accepted":
                log.info("ocpp.remote_start.not_authorized", id_tag=id_tag, status=result.status)
                return
            parent = result.parent_id_tag  # the group a reservation may be held for
            connectors = result.connectors  # the EVSEs it is valid at (2.0.1)
        ok = await self.station.remote_start(id_tag, connector_id, parent, connectors)
        log.info("ocpp.remote_start", id_tag=id_tag, connector=connector_id, started=ok)
        if ok and profile is not None:
            await self.remote_start_profile(id_tag, connector_id, profile)

    async def remote_start_profile(
        self, id_tag: str, connector_id: int | None, profile: dict[str, Any]
    ) -> None:
        await self.smart.after_remote_start(connector_id, profile, self.station.connection_timeout)

    async def drain_stops(self) -> None:
        """Before the connection closes for a reboot or a stop: give the CSMS the
        StopTransactions of the sessions just ended (bounded: `shutdown_drain`)."""
        if not self.connected.is_set() or self.options.shutdown_drain <= 0:
            return
        done = await self.outbox.drained(
            STOP, self.options.shutdown_drain, still=self.connected.is_set
        )
        log.info("ocpp.shutdown.drained" if done else "ocpp.shutdown.drain_timeout")

    async def reset(self, kind: str, evse_id: int | None = None) -> None:
        """A Reset from the CSMS: 1.6 Hard / Soft, 2.0.1 Immediate / OnIdle (once no
        transaction runs), of the station or of one EVSE (its transaction ends; the
        station does not restart)."""
        reason = "SoftReset" if kind == "Soft" else "HardReset"
        log.warning("ocpp.reset", type=kind, evse=evse_id)
        cids = [evse_id] if evse_id is not None else list(self.station.connector_ids)
        waited = False
        if kind == "OnIdle":
            # B12: what is idle takes no new session meanwhile (Unavailable, not kept
            # across the restart); the core has no "idle" event: look once a second
            while busy := [c for c in cids if self.station.view(c).transaction is not None]:
                waited = True
                await self.station.hold([c for c in cids if c not in busy], True)
                await asyncio.sleep(1)
            await self.station.hold(cids, True)
        if evse_id is not None:
            if self.station.view(evse_id).transaction is not None:
                await self.station.stop_connector(evse_id, reason)
            await self.recorder.flush()
            await self.station.hold(cids, False)  # an EVSE reset: the station goes on
            return
        await self.security.event("ResetOrReboot", f"{kind} reset by the CSMS")
        await self.station.shutdown_sessions(reason)
        await self.recorder.flush()
        await self.drain_stops()
        # B12: a reset that waited for the transactions to end was a scheduled one
        boot_reason = "ScheduledReset" if waited else "RemoteReset"
        self.boot_reason = boot_reason
        if self.on_reset is not None:
            self.restart_reason = boot_reason
            if self.boot_reasons is not None:
                await self.boot_reasons.expect(boot_reason)
            self.on_reset(kind)
        else:
            await self.station.hold(cids, False)  # no process restart: back in service
            self.reconnect()  # no process restart: the next session boots with the reason

    def current_subprotocol(self) -> str | None:
        session = self.session
        accepted = session is not None and session.accepted.is_set()
        return session.adapter.subprotocol if session is not None and accepted else None

    def registered(self) -> bool:
        """Accepted by the CSMS on the current connection."""
        return self.session is not None and self.session.accepted.is_set()

    async def trigger(self, message: str, connector_id: int | None) -> None:
        session = self.session
        if session is None:
            return
        cids = [connector_id] if connector_id else [0, *self.station.connector_ids]
        if message == "BootNotification":
            if session.accepted.is_set():
                await session.boot_once("Triggered")
            else:
                session.boot_reason = "Triggered"
                session.boot_now.set()  # the boot loop sends it, and goes on if Accepted
        elif message == "Heartbeat":
            await session.heartbeat()
        elif message == "StatusNotification":
            for cid in cids:
                await self.send_status(cid, while_pending=True)
        elif message == "MeterValues":
            measurands = self.settings.get_csl("MeterValuesSampledData")
            for cid in cids:
                if cid:
                    await self.send_meter_values(cid, "Trigger", measurands)
        elif message == "TransactionEvent":
            measurands = self.settings.get_csl("MeterValuesSampledData")
            for cid in cids:
                sample = self.recorder.latest.get(cid) if cid else None
                if sample is not None and sample.transaction_id is not None:
                    self.recorder.queue_meter(sample, "Trigger", measurands)
        else:
            await self.trigger_extra(message)

    async def trigger_extra(self, message: str) -> None:
        if message == "FirmwareStatusNotification":
            await self.firmware.trigger()
        elif message == "DiagnosticsStatusNotification":
            await self.diagnostics.notify(self.diagnostics.status)
        elif message == "LogStatusNotification":
            await self.diagnostics.trigger_log()
        elif message in ("SignChargePointCertificate", "SignChargingStationCertificate"):
            await self.sign_certificate()

    # -- settings ------------------------------------------------------------------------

    def _check_security_profile(self, value: str) -> str | None:
        new, current = int(value), self.settings.get_int("SecurityProfile")
        if new < current:
            return "never lower the security profile"
        url = self._target.url if self._target is not None else self.options.url
        return self._security_problem(new, url)

    async def _raise_security_profile(self) -> None:
        """Accepted over a network profile of a higher security profile: that is the
        station's SecurityProfile from now on, so no profile below it is used again."""
        target = self._target
        if target is None or target.security_profile <= self.settings.get_int("SecurityProfile"):
            return
        answer = await self.settings.change("SecurityProfile", str(target.security_profile))
        log.info("ocpp.security_profile.raised", to=target.security_profile, answer=answer)

    def _security_problem(self, new: int, url: str) -> str | None:
        """Why security profile `new` cannot be used to connect to `url`, or None."""
        has_root = bool(self.options.ca_file or self.certs.root_files(CSMS_ROOT))
        if new >= 2 and not (has_root and url.startswith("wss://")):
            return "profile 2 and 3 need wss:// and a CSMS root certificate"
        has_cert = self.certs.cp_cert.exists() or bool(self.options.client_cert)
        if new == 3 and not has_cert:
            return "profile 3 needs a charge point certificate"
        if new in (1, 2) and not self.settings.get("AuthorizationKey"):
            return "profile 1 and 2 need an AuthorizationKey"
        return None

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def sync_pre_authorize(self) -> None:
        """The local list answers before the CSMS: LocalPreAuthorize when connected,
        LocalAuthorizeOffline when not."""
        key = "LocalPreAuthorize" if self.connected.is_set() else "LocalAuthorizeOffline"
        self.station.authorizer.local_pre_authorize = self.settings.get_bool(key)

    def sync_tx_points(self) -> None:
        """The core's transaction points: the connected version's; offline, those of the
        version offered first (the one expected)."""
        adapter = self.adapter
        if adapter is None:
            adapter = adapter_for(subprotocols(self.options.version, self.options.auto_order)[0])
        if adapter is not None:
            self.station.set_tx_points(adapter.tx_points(self.settings))

    def sync_core_settings(self) -> None:
        """Keys the charging core applies: LocalAuthListEnabled, ConnectionTimeOut, and the
        transaction points."""
        self.sync_tx_points()
        self.station.authorizer.local_list_enabled = self.settings.get_bool("LocalAuthListEnabled")
        timeout = self.settings.get_int("ConnectionTimeOut")
        # a 0 stored before the minimum was 1 would cancel every early authorization
        self.station.connection_timeout = (
            float(timeout) if timeout > 0 else self.config.charging.connection_timeout
        )

    async def _listed(self, id_tag: str) -> WhitelistEntry | None:
        """The local list's entry for an id tag; none while LocalAuthListEnabled is false."""
        authorizer = self.station.authorizer
        return await authorizer.card(id_tag) if authorizer.local_list_enabled else None

    def _unlocks_on_ev_disconnect(self) -> str:
        """UnlockConnectorOnEVSideDisconnect as the core applies it: only lock mode
        UNLOCKED releases the cable when the EV unplugs (TRANSACTION holds it until an
        authorized stop, LOCKED always); a tethered cable has nothing to hold."""
        station = self.station
        no_lock = all(c.lock is None for c in station.board.connectors)
        return "true" if no_lock or station.lock_mode == LockMode.UNLOCKED else "false"

    def _setting_changed(self, key: str, value: str) -> None:
        if key in ("LocalPreAuthorize", "LocalAuthorizeOffline"):
            self.sync_pre_authorize()
        elif key in tx_points.KEYS:
            self.sync_tx_points()
        elif key in ("LocalAuthListEnabled", "ConnectionTimeOut"):
            self.sync_core_settings()
        elif key in ("ClockAlignedDataInterval", "AlignedTxEndedInterval"):
            self._aligned_changed.set()
        elif key == "HeartbeatInterval" and self.session is not None:
            self.session.heartbeat_changed.set()
        elif (
            key == "SecurityProfile"
            and self._target is not None
            and (self.connected.is_set() and self._target.security_profile == int(value))
        ):
            # raised to what this connection already uses: nothing to reconnect for
            self._spawn(self.security.event("ReconfigurationOfSecurityParameters", key))
        elif key in ("SecurityProfile", "AuthorizationKey"):
            # the new credentials apply from the next connection (a short delay first)
            asyncio.get_running_loop().call_later(0.5, self.reconnect)
            self._spawn(self.security.event("ReconfigurationOfSecurityParameters", key))


def _version() -> str:
    try:
        return metadata.version("ncpa")
    except metadata.PackageNotFoundError:
        return "0"
