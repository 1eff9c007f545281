"""C Authorization and D Local list: ClearCache, SendLocalList (Full / Differential, with
versions), GetLocalListVersion; the same whitelist the local API manages. Authorize goes
out through the adapter (adapter.py)."""

from __future__ import annotations

from typing import Any

from ocpp.v201 import call_result

from ncpa.log import get_logger
from ncpa.ocpp import local_list
from ncpa.ocpp.routing import on
from ncpa.ocpp.v201.base import Block
from ncpa.ocpp.v201.messages import AUTH_STATUS
from ncpa.store import WhitelistEntry

log = get_logger(__name__)


def entry_from(data: dict[str, Any]) -> WhitelistEntry:
    """AuthorizationData (snake_case) with idTokenInfo -> a whitelist entry."""
    info = data["id_token_info"]
    group = info.get("group_id_token") or {}
    return local_list.entry(
        str(data["id_token"]["id_token"]),
        AUTH_STATUS.get(str(info["status"]), "Invalid"),
        info.get("cache_expiry_date_time"),
        group.get("id_token"),
    )


class AuthorizationBlock(Block):
    @on("ClearCache")
    async def on_clear_cache(self, **_: Any) -> call_result.ClearCache:
        if not self.ctx.settings.get_bool("AuthorizationCacheEnabled"):
            return call_result.ClearCache(status="Rejected")
        await self.ctx.cache.clear()
        return call_result.ClearCache(status="Accepted")

    @on("GetLocalListVersion")
    async def on_get_local_list_version(self, **_: Any) -> call_result.GetLocalListVersion:
        version = await local_list.version(self.ctx)
        return call_result.GetLocalListVersion(version_number=max(version, 0))

    @on("SendLocalList")
    async def on_send_local_list(
        self,
        version_number: int,
        update_type: str,
        local_authorization_list: list[dict[str, Any]] | None = None,
        **_: Any,
    ) -> call_result.SendLocalList:
        entries = local_authorization_list or []
        full = update_type == "Full"
        try:
            updates = [
                (
                    str(e["id_token"]["id_token"]),
                    entry_from(e) if e.get("id_token_info") else None,
                )
                for e in entries
                if e.get("id_token_info") or not full
            ]
        except (ValueError, KeyError) as e:
            log.warning("ocpp.local_list.failed", error=str(e))
            return call_result.SendLocalList(status="Failed")
        status = await local_list.update(self.ctx, version_number, full, updates)
        if status == "NotSupported":
            status = "Failed"  # 2.0.1 has no NotSupported here: the list is disabled
        return call_result.SendLocalList(status=status)
