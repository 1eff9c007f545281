"""Configuration keys the charging core applies, against a real CSMS over a real websocket:
LocalAuthListEnabled, ConnectionTimeOut, StopTxnAlignedData across a restart, and the
read-only EV-side disconnect keys."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ocpp.v16 import call

from ncpa.store import WhitelistEntry
from tests.ocpp.conftest import STOP_ALIGNED_ONLY, AgentFactory, until
from tests.ocpp.csms import Csms, Quirks


async def change(csms: Csms, key: str, value: str) -> str:
    return str((await csms.call(call.ChangeConfiguration(key=key, value=value))).status)


async def reported(csms: Csms, *keys: str) -> dict[str, tuple[str, bool]]:
    res = await csms.call(call.GetConfiguration(key=list(keys)))
    return {k["key"]: (k["value"], k["readonly"]) for k in res.configuration_key}


async def test_local_auth_list_disabled_is_not_used_by_the_core(
    csms_factory, agent_factory: AgentFactory
) -> None:
    csms = await csms_factory(Quirks(id_tag_status=lambda _tag: "Blocked"))
    agent = await agent_factory(csms.url, settings={"LocalAuthListEnabled": "false"})
    await agent.accepted()
    authorizer = agent.station.authorizer
    assert not authorizer.local_list_enabled  # applied at start
    await authorizer.add_card(WhitelistEntry("LISTED1", "ACCEPTED"))
    await authorizer.add_card(WhitelistEntry("LISTED2", "ACCEPTED"))
    # the list is off: the CSMS decides, even for a card on it
    assert await agent.station.present_card("LISTED1") == "Blocked"
    assert [m.payload["idTag"] for m in csms.calls("Authorize")] == ["LISTED1"]

    assert await change(csms, "LocalAuthListEnabled", "true") == "Accepted"
    result = await authorizer.authorize("LISTED1")
    assert (result.status, result.source) == ("Accepted", "whitelist")
    assert len(csms.calls("Authorize")) == 1

    assert await change(csms, "LocalAuthListEnabled", "false") == "Accepted"
    assert (await authorizer.authorize("LISTED1")).source == "csms"
    # offline, the disabled list does not answer either (LocalAuthorizeOffline is true)
    await csms.stop()
    await until(lambda: not agent.client.connected.is_set(), 5, "disconnected")
    assert (await authorizer.authorize("LISTED2")).status == "Invalid"
    # the list counts as no list: an id only on it is unknown for AllowOfflineTxForUnknownId
    assert await agent.client.settings.change("AllowOfflineTxForUnknownId", "true") == "Accepted"
    assert (await authorizer.authorize("LISTED2")).source == "offline"
    assert await agent.client.settings.change("LocalAuthListEnabled", "true") == "Accepted"
    assert (await authorizer.authorize("LISTED2")).source == "whitelist"


async def test_connection_timeout_reaches_the_core(csms: Csms, agent_factory: AgentFactory) -> None:
    agent = await agent_factory(
        csms.url, settings={"ConnectionTimeOut": "45", "AuthorizeRemoteTxRequests": "false"}
    )
    await agent.accepted()
    station = agent.station
    assert station.connection_timeout == 45.0  # applied at start
    assert await change(csms, "ConnectionTimeOut", "0") == "Rejected"
    assert station.connection_timeout == 45.0
    assert await change(csms, "ConnectionTimeOut", "1") == "Accepted"
    assert station.connection_timeout == 1.0

    res = await csms.call(call.RemoteStartTransaction(id_tag="LATE", connector_id=1))
    assert res.status == "Accepted"
    await agent.status(1, "Preparing")  # waiting for the plug ...
    await agent.status(1, "Available")  # ... given up after ConnectionTimeOut
    await csms.wait_for("StatusNotification", pred=lambda m: m.payload["status"] == "Preparing")
    await agent.plug(1)
    # the late plug started nothing: the next transaction is the next authorization's
    res = await csms.call(call.RemoteStartTransaction(id_tag="NOW", connector_id=1))
    assert res.status == "Accepted"
    starts = await csms.wait_for("StartTransaction")
    assert [m.payload["idTag"] for m in starts] == ["NOW"]


async def test_connection_timeout_defaults_to_the_config_file(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await agent_factory(csms.url, charging={"connection_timeout": 90.5})
    await agent.accepted()
    assert await reported(csms, "ConnectionTimeOut") == {"ConnectionTimeOut": ("91", False)}
    assert agent.station.connection_timeout == 91.0


async def test_stop_txn_aligned_data_survives_a_restart(
    tmp_path: Path, csms: Csms, agent_factory: AgentFactory
) -> None:
    data_dir = tmp_path / "d"
    first = await agent_factory(csms.url, data_dir=data_dir, settings=STOP_ALIGNED_ONLY)
    await first.accepted()
    tx_id = await first.start_charging(1, "T")
    outbox = first.client.outbox

    async def kept() -> int:
        return len(await outbox.stop_data(tx_id))

    for _ in range(200):
        if await kept() >= 2:
            break
        await asyncio.sleep(0.05)
    before_restart = await outbox.stop_data(tx_id)
    assert len(before_restart) >= 2
    # the agent dies: its client has gone before the core closes the transaction, so the
    # Stop is queued by the next start's catch-up, with the values kept in the store
    await first.client.stop()
    await first.station.stop()
    await first.station.store.close()

    second = await agent_factory(csms.url, data_dir=data_dir)
    await second.accepted()
    stop = (await csms.wait_for("StopTransaction"))[0]
    assert stop.payload["transactionId"] == 1001
    data = stop.payload["transactionData"]
    assert data[: len(before_restart)] == [
        {
            "timestamp": mv["timestamp"],
            "sampledValue": [
                {
                    "value": sv["value"],
                    "context": "Sample.Clock",
                    "measurand": "Energy.Active.Import.Register",
                    "location": "Outlet",
                    "unit": "Wh",
                }
                for sv in mv["sampled_value"]
            ],
        }
        for mv in before_restart
    ]
    assert await second.client.outbox.stop_data(tx_id) == []  # moved into the Stop


async def test_ev_side_disconnect_keys_report_what_the_core_applies(
    csms: Csms, agent_factory: AgentFactory
) -> None:
    agent = await agent_factory(csms.url)
    await agent.accepted()
    keys = ("StopTransactionOnEVSideDisconnect", "UnlockConnectorOnEVSideDisconnect")
    assert await reported(csms, *keys) == {k: ("true", True) for k in keys}
    for key in keys:
        assert await change(csms, key, "false") == "Rejected"

    # lock mode UNLOCKED (the default): the EV unplugs, the transaction stops, the cable is free
    await agent.start_charging(1, "EV1")
    await until(lambda: agent.station.view(1).locked is True, 5, "locked while charging")
    await agent.unplug(1)
    stop = (await csms.wait_for("StopTransaction"))[0]
    assert stop.payload["reason"] == "EVDisconnected"
    await until(lambda: agent.station.view(1).locked is False, 5, "unlocked at unplug")

    # lock mode TRANSACTION holds the cable after the EV unplugs: reported as false
    await agent.station.set_lock_mode("TRANSACTION")
    got = await reported(csms, *keys)
    assert got["UnlockConnectorOnEVSideDisconnect"] == ("false", True)
    assert got["StopTransactionOnEVSideDisconnect"] == ("true", True)
    await agent.start_charging(1, "EV2")
    agent.plant.unplug(1)
    await agent.status(1, "Finishing")
    await csms.wait_for("StopTransaction", 2)
    assert agent.station.view(1).locked is True
