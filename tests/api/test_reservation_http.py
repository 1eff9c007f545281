"""POST /charging/start on a reserved connector (issue 13, item 1): only the reserved id
tag, or a card of the reservation's group from the local list, may start there."""

from __future__ import annotations

from ncpa.store import WhitelistEntry
from tests.api.conftest import Api
from tests.helpers import wait_until


async def test_local_api_start_follows_the_reservation(api: Api) -> None:
    station = api.charger.station
    await station.authorizer.add_card(WhitelistEntry("CHILD", "ACCEPTED", parent_id_tag="GROUP"))
    assert await station.reserve(3, 1, "R1", 9e9, parent_id_tag="GROUP") == "Accepted"
    token = await api.login("operator")
    for tag in ("OTHER", "STRANGER"):
        for params in ({"tag": tag}, {"tag": tag, "connectorId": "1"}):
            status, body = await api.call("POST", "/charging/start", token, params=params)
            assert status == 409 and body["error"] == "Conflict", (params, body)
    assert station.view(1).status == "Reserved"
    status, _ = await api.call("POST", "/charging/start", token, params={"tag": "CHILD"})
    assert status == 204
    api.charger.plant.plug(1)
    await wait_until(lambda: station.view(1).transaction is not None)
    tx = station.view(1).transaction
    assert tx is not None and tx.id_tag == "CHILD"
    assert await station.cancel_reservation(3) is False  # used by the start
