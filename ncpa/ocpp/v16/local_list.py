"""LocalAuthListManagement: SendLocalList (full / differential, versioned), GetLocalListVersion.

The local list is the station's whitelist (station.authorizer); its version is an
OCPP setting of its own, stored with the list.
"""

from __future__ import annotations

from typing import Any

from ocpp.v16 import call_result

from ncpa.log import get_logger
from ncpa.ocpp.routing import on
from ncpa.ocpp.timeutil import parse_time
from ncpa.ocpp.v16.base import Handlers
from ncpa.store import WhitelistEntry

log = get_logger(__name__)

VERSION_KEY = "ocpp.local_list_version"
_STATUS = {
    "Accepted": "ACCEPTED",
    "Blocked": "BLOCKED",
    "Expired": "EXPIRED",
    "Invalid": "INVALID",
    "ConcurrentTx": "ACCEPTED",
}


def entry_from(data: dict[str, Any]) -> WhitelistEntry:
    """An AuthorizationData (snake_case) with idTagInfo -> a whitelist entry."""
    info = data["id_tag_info"]
    expiry = info.get("expiry_date")
    return WhitelistEntry(
        token=data["id_tag"],
        status=_STATUS[info["status"]],
        expiry_ts=int(parse_time(expiry)) if expiry else None,
        parent_id_tag=info.get("parent_id_tag"),
    )


class LocalListHandlers(Handlers):
    @on("GetLocalListVersion")
    async def on_get_local_list_version(self, **_: Any) -> call_result.GetLocalListVersion:
        client = self.client
        if not client.settings.get_bool("LocalAuthListEnabled"):
            return call_result.GetLocalListVersion(list_version=-1)
        version = await client.station.store.get_setting(VERSION_KEY, 0)
        return call_result.GetLocalListVersion(list_version=int(version))

    @on("SendLocalList")
    async def on_send_local_list(
        self,
        list_version: int,
        update_type: str,
        local_authorization_list: list[dict[str, Any]] | None = None,
        **_: Any,
    ) -> call_result.SendLocalList:
        client = self.client
        settings = client.settings
        store = client.station.store
        authorizer = client.station.authorizer
        entries = local_authorization_list or []
        if not settings.get_bool("LocalAuthListEnabled"):
            return call_result.SendLocalList(status="NotSupported")
        if len(entries) > settings.get_int("SendLocalListMaxLength"):
            return call_result.SendLocalList(status="Failed")
        current = int(await store.get_setting(VERSION_KEY, 0))
        try:
            if update_type == "Full":
                cards = [entry_from(e) for e in entries if e.get("id_tag_info")]
                if len(cards) > settings.get_int("LocalAuthListMaxLength"):
                    return call_result.SendLocalList(status="Failed")
                await authorizer.replace_cards(cards)
            else:
                if list_version <= current:
                    return call_result.SendLocalList(status="VersionMismatch")
                updates = [
                    (e["id_tag"], entry_from(e) if e.get("id_tag_info") else None) for e in entries
                ]
                size = len(await authorizer.cards()) + sum(1 for _t, e in updates if e)
                if size > settings.get_int("LocalAuthListMaxLength"):
                    return call_result.SendLocalList(status="Failed")
                for token, entry in updates:
                    if entry is None:
                        await authorizer.delete_card(token)
                    else:
                        await authorizer.add_card(entry)
        except (ValueError, KeyError) as e:
            log.warning("ocpp.local_list.failed", error=str(e))
            return call_result.SendLocalList(status="Failed")
        await store.set_setting(VERSION_KEY, list_version)
        log.info("ocpp.local_list", update=update_type, version=list_version, entries=len(entries))
        return call_result.SendLocalList(status="Accepted")
