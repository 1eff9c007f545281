"""LocalAuthListManagement: SendLocalList (full / differential, versioned), GetLocalListVersion.

The rules are in ncpa/ocpp/local_list.py (shared with 2.0.1); this maps 1.6's messages.
"""

from __future__ import annotations

from typing import Any

from ocpp.v16 import call_result

from ncpa.log import get_logger
from ncpa.ocpp import local_list
from ncpa.ocpp.routing import on
from ncpa.ocpp.v16.base import Handlers
from ncpa.store import WhitelistEntry

log = get_logger(__name__)


def entry_from(data: dict[str, Any]) -> WhitelistEntry:
    """An AuthorizationData (snake_case) with idTagInfo -> a whitelist entry."""
    info = data["id_tag_info"]
    return local_list.entry(
        data["id_tag"], info["status"], info.get("expiry_date"), info.get("parent_id_tag")
    )


class LocalListHandlers(Handlers):
    @on("GetLocalListVersion")
    async def on_get_local_list_version(self, **_: Any) -> call_result.GetLocalListVersion:
        return call_result.GetLocalListVersion(list_version=await local_list.version(self.ctx))

    @on("SendLocalList")
    async def on_send_local_list(
        self,
        list_version: int,
        update_type: str,
        local_authorization_list: list[dict[str, Any]] | None = None,
        **_: Any,
    ) -> call_result.SendLocalList:
        entries = local_authorization_list or []
        full = update_type == "Full"
        try:
            updates = [
                (e["id_tag"], entry_from(e) if e.get("id_tag_info") else None)
                for e in entries
                if e.get("id_tag_info") or not full
            ]
        except (ValueError, KeyError) as e:
            log.warning("ocpp.local_list.failed", error=str(e))
            return call_result.SendLocalList(status="Failed")
        status = await local_list.update(self.ctx, list_version, full, updates)
        return call_result.SendLocalList(status=status)
