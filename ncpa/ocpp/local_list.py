"""The local authorization list as OCPP manages it (SendLocalList / GetLocalListVersion in
1.6, D01-D02 in 2.0.1): the station's whitelist, with a version kept beside it.

The adapters turn their messages into whitelist entries; the rules (full or differential
update, versions, sizes) are here once.
"""

from __future__ import annotations

from ncpa.charging.authorization import CARD_STATUSES, check_id_tag
from ncpa.log import get_logger
from ncpa.ocpp.context import OcppContext
from ncpa.ocpp.timeutil import parse_time
from ncpa.store import WhitelistEntry

log = get_logger(__name__)

VERSION_KEY = "ocpp.local_list_version"
# an authorization status (neutral, 1.6 names) -> the whitelist's
_WHITELIST = {
    "Accepted": "ACCEPTED",
    "Blocked": "BLOCKED",
    "Expired": "EXPIRED",
    "Invalid": "INVALID",
    "ConcurrentTx": "ACCEPTED",
}


def entry(token: str, status: str, expiry: str | None, parent: str | None) -> WhitelistEntry:
    """A list entry from either version's message (KeyError for an unknown status)."""
    return WhitelistEntry(
        token=token,
        status=_WHITELIST[status],
        expiry_ts=int(parse_time(expiry)) if expiry else None,
        parent_id_tag=parent,
    )


async def version(ctx: OcppContext) -> int:
    """The list's version; -1 when the local list is disabled (1.6 §5.10)."""
    if not ctx.settings.get_bool("LocalAuthListEnabled"):
        return -1
    return int(await ctx.station.store.get_setting(VERSION_KEY, 0))


async def update(
    ctx: OcppContext,
    list_version: int,
    full: bool,
    updates: list[tuple[str, WhitelistEntry | None]],
) -> str:
    """Apply a SendLocalList: Accepted | Failed | VersionMismatch | NotSupported.
    `updates`: (token, entry), entry None to delete the token (differential only)."""
    settings = ctx.settings
    store = ctx.station.store
    authorizer = ctx.station.authorizer
    if not settings.get_bool("LocalAuthListEnabled"):
        return "NotSupported"
    if len(updates) > settings.get_int("SendLocalListMaxLength"):
        return "Failed"
    current = int(await store.get_setting(VERSION_KEY, 0))
    try:  # all or nothing: check every entry before the list changes
        for token, entry in updates:
            check_id_tag(token)
            if entry is not None and entry.status not in CARD_STATUSES:
                raise ValueError(f"{token}: status {entry.status}")
    except ValueError as e:
        log.warning("ocpp.local_list.invalid", error=str(e))
        return "Failed"
    if full:
        cards = [e for _t, e in updates if e is not None]
        if len(cards) > settings.get_int("LocalAuthListMaxLength"):
            return "Failed"
        await authorizer.replace_cards(cards)
    else:
        if list_version <= current:
            return "VersionMismatch"
        size = len(await authorizer.cards()) + sum(1 for _t, e in updates if e)
        if size > settings.get_int("LocalAuthListMaxLength"):
            return "Failed"
        for token, entry in updates:
            if entry is None:
                await authorizer.delete_card(token)
            else:
                await authorizer.add_card(entry)
    await store.set_setting(VERSION_KEY, list_version)
    log.info("ocpp.local_list", full=full, version=list_version, entries=len(updates))
    return "Accepted"
