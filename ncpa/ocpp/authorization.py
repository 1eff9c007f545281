"""The authorization cache and the offline rules, behind `station.authorizer.remote`.

The station's Authorizer decides from the local list (SendLocalList = whitelist)
and calls `RemoteAuthorization.__call__` for the rest (and for a listed card the list
refuses: the CSMS may know better). Here:
0. An id token the CSMS issued itself (2.0.1 type Central: a remote start) is not
   asked for and not cached (2.0.1 C03.FR.01, C05.FR.01, C10).
1. Online, LocalPreAuthorize: a valid Accepted cache entry answers at once (not for a
   card the local list has: the list comes first).
2. Online: Authorize to the CSMS; its idTagInfo (2.0.1: idTokenInfo) refreshes the cache.
3. Offline (or the CSMS failed to answer): a listed card gets the list's answer;
   LocalAuthorizeOffline: the cache answers (an entry past its expiry: Expired).
4. Offline, AllowOfflineTxForUnknownId (2.0.1 OfflineTxForUnknownIdEnabled): an id
   unknown to the cache and list is accepted.
5. Otherwise None: "CSMS unreachable", the Authorizer falls back to its own list
   (unless LocalAuthorizeOffline is off: then Invalid).
Under 2.0.1 an entry without its own expiry (cacheExpiryDateTime) also ends
AuthCacheLifeTime seconds after it was last stored or used (0: no such limit); 1.6 has
no such setting, so there it does not apply. A full cache evicts refused entries first,
then the least recently used.
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
from dataclasses import dataclass, field
from typing import Any

from ncpa.charging.authorization import AuthResult
from ncpa.log import get_logger
from ncpa.ocpp.settings import OcppSettings
from ncpa.ocpp.timeutil import parse_time_or_none
from ncpa.store import Store, WhitelistEntry

log = get_logger(__name__)

CACHE_MAX = 1000  # entries; refused ones, then the least recently used, are evicted
# 2.0.1 id token types that are never cached: issued by the CSMS, or no token at all
UNCACHED_TYPES = frozenset({"Central", "NoAuthorization"})


@dataclass(frozen=True)
class CacheEntry:
    id_tag: str
    status: str
    expiry_ts: float | None
    parent_id_tag: str | None
    updated_ts: float = field(default=0.0, compare=False)

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
                "SELECT id_tag, status, expiry_ts, parent_id_tag, updated_ts FROM ocpp_auth_cache "
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
                "ORDER BY status = 'Accepted' DESC, updated_ts DESC LIMIT -1 OFFSET ?)",
                (CACHE_MAX,),
            )

        await self.store.call(_put)

    async def touch(self, id_tag: str) -> None:
        """The entry was used: its lifetime (2.0.1 AuthCacheLifeTime) starts again."""

        def _touch(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE ocpp_auth_cache SET updated_ts = ? WHERE id_tag = ?", (time.time(), id_tag)
            )

        await self.store.call(_touch)

    async def delete(self, id_tag: str) -> None:
        def _delete(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM ocpp_auth_cache WHERE id_tag = ?", (id_tag,))

        await self.store.call(_delete)

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
        # the OCPP version in use (the adapter of each connection sets it): the cache's
        # lifetime is a 2.0.1 rule
        self.version = "1.6"
        # how an id token was presented (2.0.1 IdTokenEnumType; "" when not known)
        self.token_type: Callable[[str], str] = lambda _id_tag: ""
        # connected to the CSMS: LocalPreAuthorize applies online, LocalAuthorizeOffline not
        self.online: Callable[[], bool] = lambda: True

    def _cacheable(self, id_tag: str) -> bool:
        return (
            self.settings.get_bool("AuthorizationCacheEnabled")
            and self.token_type(id_tag) not in UNCACHED_TYPES
        )

    def _lifetime(self) -> float | None:
        if self.version != "2.0.1":
            return None
        life = self.settings.get_int("AuthCacheLifeTime")
        return float(life) if life > 0 else None

    async def remember(self, id_tag: str, info: dict[str, Any]) -> None:
        # one valid at some EVSEs only (2.0.1 evseId) is not cached: the cache has no
        # place for the EVSEs, and an entry without them would open every one
        if self._cacheable(id_tag) and not info.get("connectors"):
            await self.cache.put(id_tag, info)

    async def cached(self, id_tag: str, now: float) -> CacheEntry | None:
        """The cache's entry, unless the cache is off or the entry outlived its lifetime
        (then it is gone)."""
        if not self._cacheable(id_tag):
            return None
        entry = await self.cache.get(id_tag)
        life = self._lifetime()
        if entry is None or life is None or entry.expiry_ts is not None:
            return entry
        if entry.updated_ts + life <= now:
            log.info("ocpp.auth_cache.lifetime_over", id_tag=id_tag)
            await self.cache.delete(id_tag)
            return None
        return entry

    async def known_parent(self, id_tag: str) -> str | None:
        """The group the local list or the cache knows for an accepted id tag, without
        asking the CSMS (a remote start on a reserved connector is answered at once)."""
        listed = await self.local_card(id_tag)
        if listed is not None:
            return listed.parent_id_tag if listed.status == "ACCEPTED" else None
        cached = await self.cached(id_tag, time.time())
        if cached is not None and cached.effective_status(time.time()) == "Accepted":
            return cached.parent_id_tag
        return None

    async def __call__(self, id_tag: str) -> AuthResult | None:
        if self.token_type(id_tag) == "Central":
            return AuthResult("Accepted", None, "remote")
        s = self.settings
        now = time.time()
        listed = await self.local_card(id_tag)
        cached = await self.cached(id_tag, now)
        if (
            cached is not None
            and listed is None
            and self.online()
            and s.get_bool("LocalPreAuthorize")
            and cached.effective_status(now) == "Accepted"
        ):
            await self.cache.touch(id_tag)
            return AuthResult("Accepted", cached.parent_id_tag, "cache")
        info = await self.ask(id_tag)
        if info is not None:
            await self.remember(id_tag, info)
            connectors = info.get("connectors")
            return AuthResult(
                str(info.get("status")),
                info.get("parent_id_tag"),
                "csms",
                frozenset(connectors) if connectors else None,
            )
        # offline from here
        if not s.get_bool("LocalAuthorizeOffline"):
            if cached is None and listed is None and s.get_bool("AllowOfflineTxForUnknownId"):
                return self._unknown_accepted(id_tag)
            # offline, local authorization is off: not even the local list may start a session
            return AuthResult("Invalid", None, "offline")
        if listed is not None:
            return None  # the list's own answer (2.0.1 C13.FR.04: a refusal stands offline)
        if cached is not None:
            await self.cache.touch(id_tag)
            return AuthResult(cached.effective_status(now), cached.parent_id_tag, "cache")
        if s.get_bool("AllowOfflineTxForUnknownId"):
            return self._unknown_accepted(id_tag)
        return None

    def _unknown_accepted(self, id_tag: str) -> AuthResult:
        log.info("ocpp.authorize.offline_unknown_accepted", id_tag=id_tag)
        return AuthResult("Accepted", None, "offline")
