"""The OpenAPI document is true: every documented operation exists and answers what the
document says (each response validated by conftest's client), and every route is documented."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from ncpa.api.app import all_routes
from tests.api.conftest import Api
from tests.api.keys import CP_ID
from tests.api.openapi_check import check_response, document
from tests.api.test_upgrade_http import make_bundle


def operations() -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in document()["paths"].items()
        for method in item
        if method != "parameters"
    }


def test_every_route_is_documented_and_every_operation_served() -> None:
    served = {(r.method, r.path) for r in all_routes(developer_mode=True)}
    served.add(("GET", "/openapi.json"))
    assert served == operations()


def _form(name: str, data: bytes, filename: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field(name, data, filename=filename)
    return form


async def test_every_operation_answers_as_documented(api: Api, tmp_path: Path) -> None:
    dev = await api.login("developer")
    api.charger.plant.plug(1)
    card = {"token": "CARD42"}
    calls: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
        ("GET", "/authentication-mode", {}, {}),
        ("POST", "/authentication-mode", {"authenticationMode": "WHITELIST"}, {}),
        ("GET", "/config/socket-permanent-lock-mode", {}, {}),
        ("POST", "/config/socket-permanent-lock-mode", {"socketLockMode": "UNLOCKED"}, {}),
        ("GET", "/config/grid-max-current", {}, {}),
        ("POST", "/config/grid-max-current", {"maxCurrent": "25"}, {}),
        ("GET", "/config/load-shedding", {}, {}),
        ("POST", "/config/load-shedding", {"loadShedding": "NO"}, {}),
        ("GET", "/config/charge-station-max-current", {}, {}),
        ("POST", "/config/charge-station-max-current", {"chargeStationMaxCurrent": "20"}, {}),
        ("GET", "/config/on-off-peak", {}, {}),
        ("POST", "/config/on-off-peak", {"onOffPeak": "ON_PEAK"}, {}),
        ("POST", "/config/grid-currents", {"gridCurrents": "3,4,5"}, {}),
        ("GET", "/config/grid-currents", {}, {}),
        ("POST", "/config/charging-mode", {"chargingMode": "SOLAR"}, {}),
        ("GET", "/config/charging-mode", {}, {}),
        ("POST", "/development/whitelist/cards", {}, {"json": card}),
        ("GET", "/whitelist/cards", {}, {}),
        ("GET", "/whitelist/cards/CARD42", {}, {}),
        ("POST", "/development/card/registration-response", {},
         {"json": {"status": "SUCCESS", "statusMessage": "ok",
                   "card": {**card, "status": "ACCEPTED"}}}),
        ("GET", "/whitelist/card", {}, {}),
        ("GET", "/device-info", {}, {}),
        ("GET", "/status", {}, {}),
        ("GET", "/installer-status", {}, {}),
        ("POST", "/charging/start", {"tag": "CARD42"}, {}),
        ("POST", "/charging/stop", {"tag": "CARD42"}, {}),
        ("POST", "/charging/unlock", {}, {}),
        ("GET", "/transactions", {"limit": "10"}, {}),
        ("GET", "/schedules/chargepoint", {}, {}),
        ("POST", "/schedules/chargepoint", {}, {"json": {"recurring": "weekly", "sections": []}}),
        ("DELETE", "/development/upgrade", {}, {}),
        ("POST", "/upgrade", {}, {"data": _form("data", make_bundle(tmp_path, "9.0.0"), "u.tgz")}),
        ("DELETE", "/whitelist/cards/CARD42", {}, {}),
        ("POST", "/development/qr-gen", {"chargePointId": CP_ID, "ssid": "s", "psk": "p"}, {}),
        ("GET", "/development/upgrade-contents", {}, {}),
        ("GET", "/development/upgrade", {}, {}),
        ("POST", "/firmwares", {}, {"data": _form("data", b"fw", "fw-1.bin")}),
        ("GET", "/firmwares", {}, {}),
        ("GET", "/firmwares/latest", {}, {}),
        ("GET", "/firmwares/fw-1.bin", {}, {}),
        ("DELETE", "/firmwares", {}, {}),
        ("POST", "/tests/shunt/activate", {}, {}),
        ("GET", "/diagnostics/journal", {"kind": "StatusChanged"}, {}),
        ("GET", "/diagnostics/logs", {"level": "INFO"}, {}),
        ("GET", "/diagnostics/ocpp-trace", {}, {}),
        ("PUT", "/diagnostics/ocpp-trace", {}, {"json": {"enabled": False}}),
        ("POST", "/diagnostics/hw-check", {}, {}),
        ("GET", "/upgrade/state", {}, {}),
        ("PUT", "/whitelist/cards/CARD43", {}, {"json": {"status": "BLOCKED"}}),
        ("GET", "/", {}, {}),
        ("GET", "/static/app.js", {}, {}),
        ("POST", "/config/reboot", {}, {}),
        ("GET", "/openapi.json", {}, {}),
    ]  # fmt: skip
    seen: set[tuple[str, str]] = {("GET", "/auth")}  # login above
    for method, path, params, kwargs in calls:
        status, body = await api.call(method, path, dev, params=params, **kwargs)
        assert status < 400, (method, path, status, body)
        template = path if (method, path) in operations() else _template(path)
        seen.add((method, template))
    await api.server_state().updates.wait()  # the install started by POST /upgrade
    # the simulator relay answers 503 here (no simulator attached; test_page_api drives it)
    for method, path in (
        ("GET", "/development/simulator"),
        ("POST", "/development/simulator/plug"),
    ):
        status, _ = await api.call(method, path, dev, json={} if method == "POST" else None)
        assert status == 503
        seen.add((method, _template(path)))
    # the live stream never ends by itself: its first bytes (test_page_api reads it whole)
    headers = {"Authorization": f"Bearer {dev}"}
    async with api.session.get(f"{api.url}/events?clientId=phone-1", headers=headers) as r:
        check_response("GET", "/events", r.status, r.headers["Content-Type"], None)
        assert r.status == 200 and (await r.content.readline()).startswith(b"event: snapshot")
    seen.add(("GET", "/events"))
    assert seen == operations()


def _template(path: str) -> str:
    from tests.api.openapi_check import template_for

    return template_for(path)


def test_document_is_valid_openapi_31() -> None:
    # the OAS 3.1 meta-schema as schemathesis ships it
    from jsonschema import Draft202012Validator
    from schemathesis.specs.openapi.definitions import OPENAPI_31

    errors = list(Draft202012Validator(OPENAPI_31).iter_errors(document()))
    assert not errors, errors[0].message
    for schema in document()["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)  # raises, naming the keyword
