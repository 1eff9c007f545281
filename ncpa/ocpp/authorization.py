"""The authorization cache and the offline rules, behind `station.authorizer.remote`.

The station's Authorizer decides from the local list (SendLocalList = whitelist)
and calls `RemoteAuthorization.__call__` for the rest. Here:
1. LocalPreAuthorize: a valid Accepted cache entry answers at once.
2. Online: Authorize.req to the CSMS; its idTagInfo refreshes the cache.
3. Offline (or the CSMS failed to answer), LocalAuthorizeOffline: the cache answers.
4. Offline, AllowOfflineTxForUnknownId: an id unknown to the cache and list is accepted.
5. Otherwise None: "CSMS unreachable", the Authorizer falls back to its own list
   (unless LocalAuthorizeOffline is off: then Invalid).
The client also sets `authorizer.local_pre_authorize`: LocalPreAuthorize while
connected, LocalAuthorizeOffline while not (the list answers first only then), and
`authorizer.local_list_enabled` from LocalAuthListEnabled: while it is false the list
answers nothing, and `local_card` (the client's) sees no entries, so "unknown" in 4.
means unknown to the cache.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ncpa.charging.authorization import AuthResult
from ncpa.log import get_logger
from ncpa.ocpp.settings import OcppSettings
from ncpa.ocpp.timeutil import parse_time_or_none
from ncpa.store import Store, WhitelistEntry

log = get_logger(__name__)

CACHE_MAX = 1000  # entries; the oldest are evicted


@dataclass(frozen=True)
class CacheEntry:
    id_tag: str
    status: str
    expiry_ts: float | None
    parent_id_tag: str | None

    def effective_status(self, now: float) -> str:
        if self.status == "Accepted" and self.expiry_ts is not None and self.expiry_ts <= now:
            return "Expired"
        return self.status


class AuthCache:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def open(self) -> None:
        await self.store.migrate(
            "ocpp-auth-cache",
            [
                "CREATE TABLE ocpp_auth_cache (id_tag TEXT PRIMARY KEY, status TEXT NOT NULL, "
                "expiry_ts REAL, parent_id_tag TEXT, updated_ts REAL NOT NULL);"
            ],
        )

    async def get(self, id_tag: str) -> CacheEntry | None:
        def _get(conn: sqlite3.Connection) -> CacheEntry | None:
            row = conn.execute(
                "SELECT id_tag, status, expiry_ts, parent_id_tag FROM ocpp_auth_cache "
                "WHERE id_tag = ?",
                (id_tag,),
            ).fetchone()
            return CacheEntry(*row) if row else None

        return await self.store.call(_get)

    async def put(self, id_tag: str, info: dict[str, Any]) -> None:
        """Store an idTagInfo (snake_case dict) from Authorize/Start/StopTransaction."""
        status = str(info.get("status", "Invalid"))
        expiry = parse_time_or_none(info.get("expiry_date"))
        parent = info.get("parent_id_tag")

        def _put(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO ocpp_auth_cache(id_tag, status, expiry_ts, parent_id_tag, "
                "updated_ts) VALUES (?, ?, ?, ?, ?) ON CONFLICT(id_tag) DO UPDATE SET "
                "status = excluded.status, expiry_ts = excluded.expiry_ts, "
                "parent_id_tag = excluded.parent_id_tag, "
                "updated_ts = excluded.updated_ts",
                (id_tag, status, expiry, parent, time.time()),
            )
            conn.execute(
                "DELETE FROM ocpp_auth_cache WHERE id_tag IN (SELECT id_tag FROM ocpp_auth_cache "
                "ORDER BY updated_ts DESC LIMIT -1 OFFSET ?)",
                (CACHE_MAX,),
            )

        await self.store.call(_put)

    async def clear(self) -> None:
        def _clear(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM ocpp_auth_cache")

        await self.store.call(_clear)


AskCsms = Callable[[str], Awaitable[dict[str, Any] | None]]  # idTagInfo, or None when offline
LocalCard = Callable[[str], Awaitable[WhitelistEntry | None]]


class RemoteAuthorization:
    def __init__(
        self, settings: OcppSettings, cache: AuthCache, ask: AskCsms, local_card: LocalCard
    ) -> None:
        self.settings = settings
        self.cache = cache
        self.ask = ask
        self.local_card = local_card

    async def remember(self, id_tag: str, info: dict[str, Any]) -> None:
        if self.settings.get_bool("AuthorizationCacheEnabled"):
            await self.cache.put(id_tag, info)

    async def __call__(self, id_tag: str) -> AuthResult | None:
        now = time.time()
        use_cache = self.settings.get_bool("AuthorizationCacheEnabled")
        cached = await self.cache.get(id_tag) if use_cache else None
        if (
            cached is not None
            and self.settings.get_bool("LocalPreAuthorize")
            and cached.effective_status(now) == "Accepted"
        ):
            return AuthResult("Accepted", cached.parent_id_tag, "cache")
        info = await self.ask(id_tag)
        if info is not None:
            await self.remember(id_tag, info)
            return AuthResult(str(info.get("status")), info.get("parent_id_tag"), "csms")
        # offline from here
        if cached is not None and self.settings.get_bool("LocalAuthorizeOffline"):
            return AuthResult(cached.effective_status(now), cached.parent_id_tag, "cache")
        unknown = cached is None and await self.local_card(id_tag) is None
        if unknown and self.settings.get_bool("AllowOfflineTxForUnknownId"):
            log.info("ocpp.authorize.offline_unknown_accepted", id_tag=id_tag)
            return AuthResult("Accepted", None, "offline")
        if not self.settings.get_bool("LocalAuthorizeOffline"):
            # offline, local authorization is off: not even the local list may start a session
            return AuthResult("Invalid", None, "offline")
        return None
