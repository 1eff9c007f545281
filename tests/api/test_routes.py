"""Every route against a real ChargingStation on the simulator: the effect, and bad input
(400 naming the parameter, state unchanged)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import AUTH, Api, Charger, start_api, write_keys
from tests.api.keys import CP_ID
from tests.api.waiting import until


@pytest.fixture
async def installer(api: Api) -> str:
    return await api.login("installer")


async def bad(api: Api, token: str, method: str, path: str, param: str, **params: Any) -> None:
    status, body = await api.call(method, path, token, params=params)
    assert status == 400, (path, params, body)
    assert body["error"] == "InvalidParameter" and body["message"].startswith(param), body


# -- settings ---------------------------------------------------------------------------


async def test_authentication_mode_acts_at_once(api: Api, installer: str) -> None:
    station = api.charger.station
    assert (await api.call("GET", "/authentication-mode", installer)) == (200, "WHITELIST")
    for value in ("plugncharge", "", "X" * 300, "NONE"):
        await bad(api, installer, "POST", "/authentication-mode", "authenticationMode",
                  authenticationMode=value)  # fmt: skip
    await bad(api, installer, "POST", "/authentication-mode", "authenticationMode")
    assert station.auth_mode == "WHITELIST"
    status, body = await api.call(
        "POST", "/authentication-mode", installer, params={"authenticationMode": "PLUGNCHARGE"}
    )
    assert (status, body) == (200, "PLUGNCHARGE")
    # effect: plugging in now starts a session with the charger's own idTag
    api.charger.plant.plug(1)
    view = await until(lambda: station.view(1).transaction)
    assert view.id_tag == station.plugncharge_tag
    assert await api.charger.store.get_setting("authentication_mode") == "PLUGNCHARGE"


async def test_lock_mode(api: Api, installer: str) -> None:
    path = "/config/socket-permanent-lock-mode"
    assert (await api.call("GET", path, installer)) == (200, "UNLOCKED")
    await bad(api, installer, "POST", path, "socketLockMode", socketLockMode="OPEN")
    assert str(api.charger.station.lock_mode) == "UNLOCKED"
    assert (await api.call("POST", path, installer, params={"socketLockMode": "LOCKED"})) == (
        200,
        "LOCKED",
    )
    assert str(api.charger.station.lock_mode) == "LOCKED"
    # LOCKED: behaves like a tethered cable, the socket locks with nothing plugged
    await until(lambda: api.charger.plant.connector(1).locked)


async def test_station_max_current_is_the_installer_limit(api: Api, installer: str) -> None:
    path = "/config/charge-station-max-current"
    p = "chargeStationMaxCurrent"
    for value in ("33", "-1", "abc", "nan", "inf", ""):
        await bad(api, installer, "POST", path, p, **{p: value})
    assert (await api.call("GET", path, installer)) == (200, 32.0)
    assert (await api.call("POST", path, installer, params={p: "13.5"})) == (200, 13.5)
    station = api.charger.station
    assert station.limits.sources(1)["installer"] == 13.5
    _status, body = await api.call("GET", "/status", installer)
    assert body["limits"][0]["amps"] == 13.5 and body["limits"][0]["source"] == "installer"
    assert body["chargeStationMaxCurrent"] == 13.5


@pytest.mark.parametrize(
    ("path", "param", "good", "value", "bad_values", "key"),
    [
        ("/config/grid-max-current", "maxCurrent", "40", 40.0, ["5", "401", "x", "1e999"],
         "grid_max_current"),
        ("/config/load-shedding", "loadShedding", "XEMEX_9600", "XEMEX_9600", ["p1", "XEMEX"],
         "load_shedding"),
        ("/config/on-off-peak", "onOffPeak", "OFF_PEAK", "OFF_PEAK", ["PEAK", "off_peak"],
         "on_off_peak"),
    ],
)  # fmt: skip
async def test_energy_settings(
    api: Api, installer: str, path: str, param: str, good: str, value: Any,
    bad_values: list[str], key: str,
) -> None:  # fmt: skip
    status, before = await api.call("GET", path, installer)
    assert status == 200
    for b in bad_values:
        await bad(api, installer, "POST", path, param, **{param: b})
    await bad(api, installer, "POST", path, param)
    assert (await api.call("GET", path, installer)) == (200, before)
    assert (await api.call("POST", path, installer, params={param: good})) == (200, value)
    assert (await api.call("GET", path, installer)) == (200, value)
    assert await api.charger.store.get_setting(key) == value


async def test_grid_currents(api: Api, installer: str) -> None:
    path = "/config/grid-currents"
    status, body = await api.call("GET", path, installer)
    assert (status, body["source"], body["currents"]) == (200, "NONE", [])
    for values in (["1,2,3,4"], ["x"], ["500"], [""]):
        await bad(api, installer, "POST", path, "gridCurrents", gridCurrents=values)
    await bad(api, installer, "POST", path, "gridCurrents")
    status, body = await api.call("POST", path, installer, params={"gridCurrents": "10,11.5,-2"})
    assert status == 200 and body["currents"] == [10, 11.5, -2] and body["source"] == "PUSHED"
    repeated = [("gridCurrents", "7"), ("gridCurrents", "8")]
    status, body = await api.call("POST", path, installer, params=repeated)
    assert body["currents"] == [7, 8]
    assert await api.charger.store.get_setting("grid_currents") == [7.0, 8.0]
    # a meter measures the grid: pushing is a conflict
    await api.call("POST", "/config/load-shedding", installer, params={"loadShedding": "P1"})
    status, body = await api.call("POST", path, installer, params={"gridCurrents": "1"})
    assert status == 409 and body["error"] == "Conflict"


async def test_installer_status(api: Api, installer: str) -> None:
    await api.call("POST", "/config/grid-currents", installer, params={"gridCurrents": "10,10,10"})
    await api.call("POST", "/config/grid-max-current", installer, params={"maxCurrent": "35"})
    status, body = await api.call("GET", "/installer-status", installer)
    assert status == 200
    assert body["gridMaxCurrent"] == 35 and body["socketLockMode"] == "UNLOCKED"
    assert body["loadSheddingModule"] == "NO" and body["onOffPeak"] == "ON_PEAK"
    assert body["gridCurrents"]["currents"] == [10, 10, 10]
    assert body["installationUsage"]["currents"] == [10, 10, 10]  # the charger draws nothing


async def test_reboot_closes_the_transaction_first(api: Api, installer: str) -> None:
    station = api.charger.station
    api.charger.plant.plug(1)
    assert (await api.call("POST", "/charging/start", installer, params={"tag": "CARD1"}))[0] == 204
    tx = await until(lambda: station.view(1).transaction)
    assert (await api.call("POST", "/config/reboot", installer))[0] == 204
    closed = await api.charger.store.transaction(tx.id)
    assert closed is not None and closed.stop_reason == "Reboot"
    await until(lambda: api.reboots)


async def test_shunt_test_fires_the_shunt(api: Api, installer: str) -> None:
    assert api.charger.plant.breaker_closed
    status, body = await api.call("POST", "/tests/shunt/activate", installer)
    assert status == 200 and body is True
    assert not api.charger.plant.breaker_closed


# -- whitelist ----------------------------------------------------------------------------


async def test_learn_card_then_it_may_charge_then_delete(api: Api, installer: str) -> None:
    station, plant = api.charger.station, api.charger.plant
    learn = asyncio.create_task(api.call("GET", "/whitelist/card", installer))
    await until(lambda: station._learners)
    plant.present_card("CAFE01")
    status, body = await learn
    assert status == 200 and body["status"] == "SUCCESS"
    assert body["card"] == {"token": "CAFE01", "status": "ACCEPTED"}
    assert (await api.call("GET", "/whitelist/cards", installer)) == (200, [body["card"]])
    assert (await api.call("GET", "/whitelist/cards/CAFE01", installer)) == (200, body["card"])
    assert (await api.call("GET", "/status", installer))[1]["numberOfRFIDCardsRegistered"] == 1
    assert await station.present_card("CAFE01") == "Accepted"  # the card may charge now
    status, body = await api.call("DELETE", "/whitelist/cards/CAFE01", installer)
    assert (status, body["token"]) == (200, "CAFE01")
    assert (await api.call("GET", "/whitelist/cards/CAFE01", installer))[0] == 404
    assert (await api.call("DELETE", "/whitelist/cards/CAFE01", installer))[0] == 404
    assert await station.present_card("CAFE01") == "Invalid"  # and now it may not
    await bad(api, installer, "GET", "/whitelist/cards/" + "A" * 21, "token")


async def test_learn_timeout_is_404_card_registration(charger: Charger, tmp_path: Path) -> None:
    api = await start_api(charger, write_keys(tmp_path / "k"), learn_timeout=0.1)
    try:
        token = await api.login("operator")
        status, body = await api.call("GET", "/whitelist/card", token)
        assert status == 404 and body["status"] == "TIMEOUT" and body["error"] == "NotFound"
        assert await charger.station.authorizer.cards() == []
    finally:
        await api.session.close()
        await api.server.stop()


async def test_developer_canned_registration_answer(api: Api) -> None:
    dev = await api.login("developer")
    canned = {"status": "FAILURE", "statusMessage": "list full"}
    path = "/development/card/registration-response"
    assert (await api.call("POST", path, dev, json={"status": "NOPE", "statusMessage": ""}))[
        0
    ] == 400
    assert (await api.call("POST", path, dev, data=b"{not json"))[0] == 400
    assert (await api.call("POST", path, dev, json=canned))[0] == 204
    status, body = await api.call("GET", "/whitelist/card", dev)
    assert status == 503 and body["statusMessage"] == "list full"


async def test_developer_add_card(api: Api) -> None:
    dev = await api.login("developer")
    path = "/development/whitelist/cards"
    assert (await api.call("POST", path, dev, json={"token": "ABC123"})) == (200, True)
    for body in ({"token": ""}, {"token": "X" * 21}, {}, [1]):
        status, err = await api.call("POST", path, dev, json=body)
        assert status == 400 and err["message"].startswith("createCardRequest"), body
    assert [c.token for c in await api.charger.station.authorizer.cards()] == ["ABC123"]


# -- charging ------------------------------------------------------------------------------


async def test_start_stop_unlock(api: Api) -> None:
    operator = await api.login("operator")
    station, plant = api.charger.station, api.charger.plant
    await bad(api, operator, "POST", "/charging/start", "tag")
    await bad(api, operator, "POST", "/charging/start", "tag", tag="T" * 21)
    await bad(api, operator, "POST", "/charging/start", "connectorId", tag="A", connectorId="9")
    await bad(api, operator, "POST", "/charging/start", "connectorId", tag="A", connectorId="x")
    assert station.view(1).transaction is None
    plant.plug(1)
    assert (await api.call("POST", "/charging/start", operator, params={"tag": "TAG1"}))[0] == 204
    tx = await until(lambda: station.view(1).transaction)
    assert tx.id_tag == "TAG1"
    status, body = await api.call("POST", "/charging/start", operator, params={"tag": "TAG2"})
    assert status == 409 and body["error"] == "Conflict"
    status, body = await api.call("POST", "/charging/stop", operator, params={"tag": "OTHER"})
    assert status == 404
    assert (await api.call("POST", "/charging/stop", operator, params={"tag": "TAG1"}))[0] == 204
    closed = await api.charger.store.transaction(tx.id)
    assert closed is not None and closed.stop_reason == "Remote"
    assert (await api.call("POST", "/charging/unlock", operator))[0] == 204
    await until(lambda: not plant.connector(1).locked)
    status, body = await api.call("GET", "/transactions", operator)
    assert status == 200 and body[0]["id"] == str(tx.id) and body[0]["token"] == "TAG1"
    assert body[0]["stopReason"] == "Remote" and "stopDate" in body[0]
    await bad(api, operator, "GET", "/transactions", "limit", limit="0")
    await bad(api, operator, "GET", "/transactions", "limit", limit="many")


async def test_unlock_failure_is_503(api: Api) -> None:
    from simulator.plant import FaultKind

    operator = await api.login("operator")
    plant = api.charger.plant
    await api.call("POST", "/config/socket-permanent-lock-mode", await api.login("installer"),
                   params={"socketLockMode": "LOCKED"})  # fmt: skip
    await until(lambda: plant.connector(1).locked)
    plant.set_fault(FaultKind.LOCK_FAILURE, True, 1)
    status, body = await api.call("POST", "/charging/unlock", operator)
    assert status == 503 and body["error"] == "ServiceUnavailable"


# -- status --------------------------------------------------------------------------------


async def test_status_and_device_info(api: Api) -> None:
    from simulator.plant import FaultKind

    operator = await api.login("operator")
    status, body = await api.call("GET", "/device-info", operator)
    assert status == 200 and body["evccVersion"].startswith("sim-evcc")
    assert body["phase"] == "3PHASE" and body["hasLatchingDevice"] is True
    assert body["absoluteMaxCurrent"] == 32.0 and body["chargePointId"] == CP_ID
    status, body = await api.call("GET", "/status", operator)
    assert body["chargePointStatus"] == "OPERATIVE" and body["transactionStatus"] == ["AVAILABLE"]
    api.charger.plant.plug(1)
    await until(lambda: api.charger.station.view(1).status == "Preparing")
    status, body = await api.call("GET", "/status", operator)
    assert body["transactionStatus"] == ["PREPARING"]
    api.charger.plant.set_fault(FaultKind.RCD, True, 1)
    await until(lambda: api.charger.station.view(1).faults)
    status, body = await api.call("GET", "/status", operator)
    assert body["connectorStatus"] == ["FAULTED"] and body["chargePointStatus"] == "FAULTED"


# -- schedules -------------------------------------------------------------------------------


async def test_charge_schedule(api: Api) -> None:
    operator = await api.login("operator")
    path = "/schedules/chargepoint"
    default = {"recurring": "none", "sections": []}
    assert (await api.call("GET", path, operator)) == (200, default)
    good = {
        "recurring": "daily",
        "sections": [{"time": 0, "limit": 16}, {"time": 3600, "limit": 8}],
    }
    bad_bodies = [
        {"recurring": "monthly", "sections": []},
        {"recurring": "daily", "sections": [{"time": 10, "limit": 6}, {"time": 5, "limit": 6}]},
        {"recurring": "daily", "sections": [{"time": 0, "limit": 99}]},
        {"recurring": "daily", "sections": [{"time": 86400, "limit": 6}]},
        {"recurring": "daily", "sections": [{"time": 0}]},
        {"recurring": "daily", "sections": [{"time": "0", "limit": 6}]},
        {"recurring": "daily", "sections": "none"},
        {"recurring": "daily", "sections": [], "extra": 1},
        [],
    ]
    for b in bad_bodies:
        status, body = await api.call("POST", path, operator, json=b)
        assert status == 400 and body["message"].startswith("chargingSchedule"), b
    status, body = await api.call("POST", path, operator, data=b"not json")
    assert status == 400
    assert (await api.call("GET", path, operator)) == (200, default)
    status, body = await api.call("POST", path, operator, json=good)
    assert status == 200 and body == good
    assert await api.charger.store.get_setting("charge_schedule") == good
    status, body = await api.call(
        "POST", path, operator, json={"recurring": "none", "sections": [{"time": 0, "limit": 10}]}
    )
    assert status == 200 and isinstance(body["start"], int)


# -- developer tools ---------------------------------------------------------------------------


async def test_qr_gen_tokens_pair(api: Api) -> None:
    dev = await api.login("developer")
    params = {"chargePointId": CP_ID, "ssid": "hotspot", "psk": "secret123"}
    status, body = await api.call("POST", "/development/qr-gen", dev, params=params)
    assert status == 200 and body["ssid"] == "hotspot"
    roles = {r["role"]: r["token"] for r in body["roles"]}
    assert set(roles) == {"operator", "installer"}
    status, paired = await api.pair(roles["installer"], "phone-qr")
    assert status == 200 and paired["role"] == "installer"
    bad_secret = {**params, "sharedSecret": "zz"}
    status, err = await api.call("POST", "/development/qr-gen", dev, params=bad_secret)
    assert status == 400 and err["message"].startswith("sharedSecret")
    status, err = await api.call("POST", "/development/qr-gen", dev, params={"ssid": "x"})
    assert status == 400 and err["message"].startswith("chargePointId")


async def test_firmware_files(api: Api) -> None:
    import aiohttp

    dev = await api.login("developer")
    assert (await api.call("GET", "/firmwares", dev)) == (200, [])
    assert (await api.call("GET", "/firmwares/latest", dev))[0] == 404
    for name, data in (("evcc-1.0.bin", b"one"), ("evcc-1.1.bin", b"two")):
        form = aiohttp.FormData()
        form.add_field("data", data, filename=name)
        status, body = await api.call("POST", "/firmwares", dev, data=form)
        assert status == 200 and body["filename"] == name and body["size"] == 3
        await asyncio.sleep(0.01)
    form = aiohttp.FormData()
    form.add_field("data", b"x", filename="../../etc/passwd")
    assert (await api.call("POST", "/firmwares", dev, data=form))[0] == 400
    status, body = await api.call("GET", "/firmwares", dev)
    assert [f["filename"] for f in body] == ["evcc-1.0.bin", "evcc-1.1.bin"]
    status, _ = await api.call("GET", "/firmwares/latest", dev)
    assert status == 302
    assert (await api.call("GET", "/firmwares/evcc-1.1.bin", dev)) == (200, b"two")
    assert (await api.call("GET", "/firmwares/nope.bin", dev))[0] == 404
    assert (await api.call("DELETE", "/firmwares", dev)) == (200, "deleted 2 file(s)")
    assert (await api.call("GET", "/firmwares", dev)) == (200, [])


async def test_auth_token_from_qr_tool_defaults_is_refused_with_other_keys(api: Api) -> None:
    # a label made for another deployment's keys does not open here
    status, _ = await api.pair(AUTH.sealed(AUTH.inner(), "CP-OTHER"))
    assert status == 401
