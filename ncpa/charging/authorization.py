"""Who may charge: the local whitelist first, then the CSMS (through a hook the OCPP client sets).

The whitelist is the OCPP local authorization list: the installer's app and the
CSMS (SendLocalList) manage the same entries. It is cached in memory so that a
card on the list is decided without touching the disk.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from ncpa.charging.states import AuthMode
from ncpa.log import get_logger
from ncpa.store import Store, WhitelistEntry

log = get_logger(__name__)

CARD_STATUSES = ("ACCEPTED", "BLOCKED", "EXPIRED", "INVALID", "UNKNOWN")
# whitelist status -> OCPP 1.6 AuthorizationStatus
_OCPP_STATUS = {
    "ACCEPTED": "Accepted",
    "BLOCKED": "Blocked",
    "EXPIRED": "Expired",
    "INVALID": "Invalid",
    "UNKNOWN": "Invalid",
}
# the longest id token the core takes: OCPP 2.0.1's IdTokenType (1.6's idTag is 20; its
# adapter refuses or cuts longer ones, and the local API keeps 20 for its cards)
MAX_ID_TAG_LEN = 36


@dataclass(frozen=True, slots=True)
class AuthResult:
    status: str  # OCPP 1.6 AuthorizationStatus
    parent_id_tag: str | None = None
    source: str = ""
    # the connectors it is valid at (2.0.1 idTokenInfo.evseId); None: every one
    connectors: frozenset[int] | None = None

    @property
    def accepted(self) -> bool:
        return self.status == "Accepted"


RemoteAuthorize = Callable[[str], Awaitable[AuthResult | None]]


def check_id_tag(id_tag: str, max_len: int = MAX_ID_TAG_LEN) -> str:
    """Raise ValueError unless `id_tag` is a valid id token (1..max_len printable)."""
    if not id_tag or len(id_tag) > max_len or not id_tag.isprintable():
        raise ValueError(f"idTag must be 1..{max_len} printable characters")
    return id_tag


class Authorizer:
    def __init__(self, store: Store, mode: str) -> None:
        self.store = store
        self.mode = AuthMode(mode)
        self.local_pre_authorize = True
        # False: the list is kept (and still managed) but decides nothing; the OCPP
        # client sets it from LocalAuthListEnabled
        self.local_list_enabled: bool = True
        self.remote: RemoteAuthorize | None = None
        self._cards: dict[str, WhitelistEntry] = {}

    async def load(self) -> None:
        self._cards = {e.token: e for e in await self.store.whitelist()}

    # -- decisions -------------------------------------------------------------

    def local(self, id_tag: str, now: float | None = None) -> AuthResult | None:
        entry = self._cards.get(id_tag)
        if entry is None:
            return None
        status = entry.status
        now = now if now is not None else time.time()
        if status == "ACCEPTED" and entry.expiry_ts is not None and entry.expiry_ts <= now:
            status = "EXPIRED"
        return AuthResult(_OCPP_STATUS[status], entry.parent_id_tag, "whitelist")

    async def authorize(self, id_tag: str) -> AuthResult:
        """Decide for a card: the local list (when enabled), then the CSMS when one is connected."""
        local = self.local(id_tag) if self.local_list_enabled else None
        pre = self.local_pre_authorize and local is not None and local.accepted
        if local is not None and (self.remote is None or pre):
            return local
        # a listed card the list refuses is asked for (the CSMS may know better, OCPP
        # 2.0.1 C14.FR.03); offline, the list's refusal stands (below)
        if self.remote is not None:
            try:
                answer = await self.remote(id_tag)
            except Exception:  # the hook must not take the charger down
                log.exception("authorize.remote_failed", id_tag=id_tag)
                answer = None
            if answer is not None:
                return answer
        if local is not None:
            return local
        return AuthResult("Invalid", None, "whitelist")

    # -- the list --------------------------------------------------------------

    async def cards(self) -> list[WhitelistEntry]:
        return list(self._cards.values())

    async def card(self, token: str) -> WhitelistEntry | None:
        return self._cards.get(token)

    @property
    def card_count(self) -> int:
        return len(self._cards)

    async def add_card(self, entry: WhitelistEntry) -> None:
        check_id_tag(entry.token)
        if entry.status not in CARD_STATUSES:
            raise ValueError(f"status must be one of {', '.join(CARD_STATUSES)}")
        await self.store.put_card(entry)
        self._cards[entry.token] = entry

    async def delete_card(self, token: str) -> bool:
        removed = await self.store.delete_card(token)
        self._cards.pop(token, None)
        return removed

    async def replace_cards(self, entries: Iterable[WhitelistEntry]) -> None:
        entries = list(entries)
        for e in entries:
            check_id_tag(e.token)
            if e.status not in CARD_STATUSES:
                raise ValueError(f"{e.token}: status must be one of {', '.join(CARD_STATUSES)}")
        await self.store.replace_whitelist(entries)
        self._cards = {e.token: e for e in entries}
