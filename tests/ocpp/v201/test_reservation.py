"""H Reservation over OCPP 2.0.1 against a real v201 CSMS: ReserveNow / CancelReservation,
the Reserved status, only the reserved idToken or its groupIdToken may charge (card first,
plug first, remote start), reservationId in the Started event, ReservationStatusUpdate
when a reservation expires or is removed (told after an outage too)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from ocpp.v201 import call

from simulator.plant import FaultKind
from tests.ocpp.conftest import AgentFactory
from tests.ocpp.csms201 import Csms201
from tests.ocpp.v201.res_stories import (
    go_offline,
    iso,
    no_transaction,
    online_on_port,
    started,
    token,
    wait_started,
    wait_status,
)
from tests.ocpp.v201.stories import online, power_off


def reserve(
    reservation_id: int, id_tag: str, evse_id: int | None = 1, within: float = 600, **kw: object
) -> call.ReserveNow:
    return call.ReserveNow(
        id=reservation_id,
        expiry_date_time=iso(time.time() + within),
        id_token=token(id_tag),
        evse_id=evse_id,
        **kw,
    )


def updates(csms: Csms201) -> list[tuple[int, str]]:
    return [
        (m.payload["reservationId"], m.payload["reservationUpdateStatus"])
        for m in csms.calls("ReservationStatusUpdate")
    ]


async def test_card_first_another_card_cannot_take_it_then_the_reserved_card_charges(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    assert (await csms.call(reserve(3, "R1"))).status == "Accepted"
    await wait_status(csms, 1, "Reserved")
    # a card the CSMS accepts, tapped before the plug: it may not use the reserved EVSE
    assert await agent.station.present_card("OTHER") == "Accepted"
    await agent.plug(1)
    await asyncio.sleep(0.5)
    assert no_transaction(agent) and not started(csms)
    # the reserved card, after the plug: the session starts and uses the reservation
    assert await agent.station.present_card("R1") == "Accepted"
    ev = await wait_started(csms)
    assert ev["reservationId"] == 3
    assert ev["idToken"] == {"idToken": "R1", "type": "ISO14443"}
    assert ev["evse"] == {"id": 1, "connectorId": 1}
    await agent.status(1, "Charging")
    await asyncio.sleep(0.3)
    assert updates(csms) == []  # a used reservation is not "Expired" nor "Removed"


async def test_plug_first_only_the_group_of_the_reservation_may_charge(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    group = {"id_token": "FLEET", "type": "Central"}
    csms.token_info = lambda t: {"group_id_token": group} if t.startswith("F-") else {}
    agent = await online(csms, agent_factory)
    assert (await csms.call(reserve(4, "R1", group_id_token=group))).status == "Accepted"
    await agent.plug(1)
    assert await agent.station.present_card("STRANGER") == "Accepted"
    await asyncio.sleep(0.5)
    assert no_transaction(agent) and not started(csms)
    refused = await csms.call(
        call.RequestStartTransaction(
            id_token=token("OTHER", "Central"), remote_start_id=1, evse_id=1
        )
    )
    assert refused.status == "Rejected"
    assert await agent.station.present_card("F-7") == "Accepted"
    ev = await wait_started(csms)
    assert (ev["reservationId"], ev["idToken"]["idToken"]) == (4, "F-7")


async def test_remote_start_for_the_reserved_token(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    assert (await csms.call(reserve(7, "R1"))).status == "Accepted"
    await agent.plug(1)
    res = await csms.call(
        call.RequestStartTransaction(id_token=token("R1", "Central"), remote_start_id=9, evse_id=1)
    )
    assert res.status == "Accepted"
    ev = await wait_started(csms)
    assert ev["reservationId"] == 7 and ev["transactionInfo"]["remoteStartId"] == 9
    # a Central token is the CSMS's own: not asked for (C03.FR.01)
    assert csms.calls("Authorize") == []


async def test_what_cannot_be_reserved(csms: Csms201, agent_factory: AgentFactory) -> None:
    agent = await online(csms, agent_factory, connectors=2)
    # ReservationCtrlr.NonEvseSpecific is false: an evseId is needed (H01.FR.19)
    assert (await csms.call(reserve(1, "R1", evse_id=None))).status == "Rejected"
    assert (await csms.call(reserve(1, "R1", evse_id=9))).status == "Rejected"
    assert (await csms.call(reserve(1, "R1", connector_type="cCCS2"))).status == "Rejected"
    assert (await csms.call(reserve(1, "R1", within=-60))).status == "Rejected"
    assert agent.station.reservation(1) is None
    assert (await csms.call(reserve(1, "R1", connector_type="sType2"))).status == "Accepted"
    assert (await csms.call(reserve(2, "R2", evse_id=1))).status == "Occupied"
    await agent.plug(2)  # an EV plugged in, no session yet: the EVSE is in use
    assert (await csms.call(reserve(2, "R2", evse_id=2))).status == "Occupied"
    await agent.unplug(2)
    off = call.ChangeAvailability(operational_status="Inoperative", evse={"id": 2})
    assert (await csms.call(off)).status == "Accepted"
    assert (await csms.call(reserve(2, "R2", evse_id=2))).status == "Unavailable"
    res = agent.station.reservation(1)
    assert res is not None and (res.reservation_id, res.id_tag) == (1, "R1")


async def test_expiry_is_told_and_frees_the_evse(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    assert (await csms.call(reserve(5, "R1", within=2))).status == "Accepted"
    await wait_status(csms, 1, "Reserved")
    await csms.wait_for("ReservationStatusUpdate", within=8)
    assert updates(csms) == [(5, "Expired")]
    await wait_status(csms, 1, "Available", count=2)
    # and the EVSE serves anyone again
    assert await agent.station.present_card("ANYONE") == "Accepted"
    await agent.plug(1)
    assert (await wait_started(csms)).get("reservationId") is None


async def test_cancel_frees_the_evse_without_a_status_update(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    assert (await csms.call(reserve(6, "R1"))).status == "Accepted"
    await wait_status(csms, 1, "Reserved")
    assert (await csms.call(call.CancelReservation(reservation_id=6))).status == "Accepted"
    await wait_status(csms, 1, "Available", count=2)
    assert (await csms.call(call.CancelReservation(reservation_id=6))).status == "Rejected"
    assert (await csms.call(call.CancelReservation(reservation_id=99))).status == "Rejected"
    await asyncio.sleep(0.3)
    assert updates(csms) == []
    assert agent.station.view(1).status == "Available"


async def test_the_same_id_moves_the_reservation(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory, connectors=2)
    assert (await csms.call(reserve(8, "R1", evse_id=1))).status == "Accepted"
    assert (await csms.call(reserve(8, "R1", evse_id=2))).status == "Accepted"  # H01.FR.02
    await wait_status(csms, 2, "Reserved")
    await agent.status(1, "Available")
    assert agent.station.reservation(1) is None
    assert updates(csms) == []


async def test_an_evse_made_inoperative_removes_its_reservation(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    assert (await csms.call(reserve(10, "R1"))).status == "Accepted"
    await wait_status(csms, 1, "Reserved")
    off = call.ChangeAvailability(operational_status="Inoperative", evse={"id": 1})
    assert (await csms.call(off)).status == "Accepted"
    await csms.wait_for("ReservationStatusUpdate")
    assert updates(csms) == [(10, "Removed")]
    await wait_status(csms, 1, "Unavailable")
    on = call.ChangeAvailability(operational_status="Operative", evse={"id": 1})
    assert (await csms.call(on)).status == "Accepted"
    await agent.status(1, "Available")  # not Reserved again


async def test_a_reservation_that_expires_offline_is_told_after_reconnecting(
    csms_on_port: Callable[[int], Awaitable[Csms201]], agent_factory: AgentFactory
) -> None:
    port, first, agent = await online_on_port(csms_on_port, agent_factory)
    assert (await first.call(reserve(11, "R1", within=3))).status == "Accepted"
    await go_offline(first, agent)
    await agent.status(1, "Available", within=10)  # expired while offline
    second = await csms_on_port(port)
    await second.wait_for("ReservationStatusUpdate", within=15)
    assert updates(second) == [(11, "Expired")]
    assert updates(first) == []


async def test_a_fault_removes_the_reservation_and_a_faulted_evse_cannot_be_reserved(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    assert (await csms.call(reserve(12, "R1"))).status == "Accepted"
    await wait_status(csms, 1, "Reserved")
    agent.plant.set_fault(FaultKind.RCD, True, 1)
    await csms.wait_for("ReservationStatusUpdate")
    assert updates(csms) == [(12, "Removed")]
    await wait_status(csms, 1, "Faulted")
    assert (await csms.call(reserve(13, "R1"))).status == "Faulted"
    assert agent.station.reservation(1) is None


async def test_a_reservation_survives_a_restart(
    csms: Csms201, agent_factory: AgentFactory, tmp_path: Path
) -> None:
    first = await online(csms, agent_factory, data_dir=tmp_path / "d")
    assert (await csms.call(reserve(14, "R1", group_id_token=token("FLEET")))).status == (
        "Accepted"
    )
    await first.client.stop()
    await first.station.stop()
    await first.station.store.close()
    before = len(csms.calls("StatusNotification"))
    second = await agent_factory(csms.url, version="2.0.1", data_dir=tmp_path / "d")
    await second.accepted()
    sent = await csms.wait_for("StatusNotification", before + 1)
    assert sent[before].payload["connectorStatus"] == "Reserved"
    res = second.station.reservation(1)
    assert res is not None and (res.reservation_id, res.id_tag, res.parent_id_tag) == (
        14,
        "R1",
        "FLEET",
    )
    # still only for its token: another card does not take it, the reserved one does
    assert await second.station.present_card("OTHER") == "Accepted"
    await second.plug(1)
    await asyncio.sleep(0.3)
    assert no_transaction(second)
    assert await second.station.present_card("R1") == "Accepted"
    assert (await wait_started(csms))["reservationId"] == 14
    # used: gone from the store too
    assert await second.station.store.get_setting("connector.1.reservation") is None


async def test_a_reservation_that_expires_while_the_agent_is_down_is_told_after_the_boot(
    csms: Csms201, agent_factory: AgentFactory, tmp_path: Path
) -> None:
    first = await online(csms, agent_factory, data_dir=tmp_path / "d")
    assert (await csms.call(reserve(15, "R1", within=1))).status == "Accepted"
    await power_off(first)
    await asyncio.sleep(1.5)  # it expires while nothing runs
    second = await online(csms, agent_factory, data_dir=tmp_path / "d")
    await csms.wait_for("ReservationStatusUpdate", within=10)
    assert updates(csms) == [(15, "Expired")]
    assert second.station.reservation(1) is None


async def test_a_notice_kept_offline_survives_a_restart(
    csms_on_port: Callable[[int], Awaitable[Csms201]],
    agent_factory: AgentFactory,
    tmp_path: Path,
) -> None:
    port, first, agent = await online_on_port(csms_on_port, agent_factory, data_dir=tmp_path / "d")
    assert (await first.call(reserve(16, "R1", within=2))).status == "Accepted"
    await go_offline(first, agent)
    await agent.status(1, "Available", within=10)  # expired offline: the notice waits
    await power_off(agent)
    second = await csms_on_port(port)
    await agent_factory(second.url, version="2.0.1", data_dir=tmp_path / "d")
    await second.wait_for("ReservationStatusUpdate", within=15)
    assert updates(second) == [(16, "Expired")]
