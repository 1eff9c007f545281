"""What the charger is and does: /device-info, /status, /installer-status, /transactions."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ncpa import __version__
from ncpa.api.params import query_int
from ncpa.api.routes import ApiState, Route, ok, state
from ncpa.api.routes_config import grid_json
from ncpa.charging.connector import ConnectorView
from ncpa.store import TransactionRecord

# OCPP ChargePointStatus -> the API's transactionStatus
TRANSACTION_STATUS = {
    "Available": "AVAILABLE",
    "Preparing": "PREPARING",
    "Charging": "CHARGING",
    "SuspendedEV": "SUSPENDED_EV",
    "SuspendedEVSE": "SUSPENDED_EVSE",
    "Finishing": "FINISHING",
    "Faulted": "FAULTED",
    "Reserved": "AVAILABLE",  # no transaction on it yet
    "Unavailable": "AVAILABLE",  # idem; connectorStatus says INOPERATIVE
}


def connector_status(v: ConnectorView) -> str:
    if v.status == "Faulted" or v.faults:
        return "FAULTED"
    return "OPERATIVE" if v.operative else "INOPERATIVE"


def charge_point_status(st: ApiState, views: list[ConnectorView]) -> str:
    if st.updates.busy:
        return "UPGRADING"
    statuses = [connector_status(v) for v in views]
    if statuses and all(s == "FAULTED" for s in statuses):
        return "FAULTED"
    if statuses and all(s != "OPERATIVE" for s in statuses):
        return "INOPERATIVE"
    return "OPERATIVE"


def firmware_version(st: ApiState) -> str:
    return st.updates.releases.current_version() or st.settings.firmware_version or __version__


async def get_device_info(request: web.Request) -> web.Response:
    st = state(request)
    cfg = st.station.config.station
    return ok(
        {
            "evccVersion": await st.station.evcc_version(),
            "firmwareVersion": firmware_version(st),
            "model": cfg.model,
            "serial": cfg.serial,
            "hasLatchingDevice": cfg.has_lock,
            "phase": "3PHASE" if cfg.phases == 3 else "1PHASE",
            "absoluteMaxCurrent": float(cfg.absolute_max_current),
            "contractualMaxCurrent": float(cfg.contractual_max_current),
            "chargePointId": cfg.id,
            "vendor": cfg.vendor,
            # extension: how long GET /whitelist/card waits for a card (the page's countdown)
            "cardLearnTimeout": float(st.settings.learn_timeout),
        }
    )


async def get_status(request: web.Request) -> web.Response:
    st = state(request)
    station = st.station
    views = station.views()
    return ok(
        {
            "chargePointStatus": charge_point_status(st, views),
            "transactionStatus": [TRANSACTION_STATUS.get(v.status, "AVAILABLE") for v in views],
            "connectorStatus": [connector_status(v) for v in views],
            "authorizationMode": station.auth_mode,
            "chargeStationMaxCurrent": float(station.station_max_current),
            "numberOfRFIDCardsRegistered": station.authorizer.card_count,
            # extension: the current limit in force per connector and which source set it
            "limits": [
                {
                    "connectorId": v.connector_id,
                    "amps": float(v.limit.amps),
                    "source": v.limit.source,
                    "offered": float(v.offered_a),
                    "sources": {
                        k: float(a) for k, a in station.limits.sources(v.connector_id).items()
                    },
                }
                for v in views
            ],
        }
    )


def charger_draw(views: list[ConnectorView], phases: int) -> list[float]:
    draw = [0.0] * phases
    for v in views:
        if v.last_reading is not None:
            for i in range(phases):
                draw[i] += v.last_reading.current_a[i]
    return draw


async def get_installer_status(request: web.Request) -> web.Response:
    st = state(request)
    station, energy = st.station, st.energy
    grid = await energy.grid_currents()
    draw = charger_draw(station.views(), len(grid.currents))
    usage = [round(max(0.0, g - d), 3) for g, d in zip(grid.currents, draw, strict=True)]
    return ok(
        {
            "socketLockMode": str(station.lock_mode),
            "gridMaxCurrent": float(await energy.grid_max_current()),
            "loadSheddingModule": await energy.load_shedding(),
            "chargeStationMaxCurrent": float(station.station_max_current),
            "onOffPeak": await energy.on_off_peak(),
            "installationUsage": {"currents": usage},
            "gridCurrents": grid_json(grid),
            **({"hotspot": st.hotspot()} if st.hotspot is not None else {}),
        }
    )


def transaction_json(tx: TransactionRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(tx.id),
        "token": tx.id_tag,
        "startDate": int(tx.start_ts),
        "startWattHour": round(tx.meter_start_wh),
        "consumedWattHours": round(tx.consumed_wh),
        "connectorId": tx.connector_id,
    }
    if tx.remote_id is not None:
        out["remoteId"] = str(tx.remote_id)
    if tx.stop_ts is not None:
        out["stopDate"] = int(tx.stop_ts)
        out["stopReason"] = tx.stop_reason or "Other"
        out["stopWattHour"] = round(tx.meter_stop_wh if tx.meter_stop_wh is not None else 0)
    return out


async def get_transactions(request: web.Request) -> web.Response:
    limit = query_int(request, "limit", 1, 1000, default=100)
    rows = await state(request).station.store.transactions(limit=limit)
    return ok([transaction_json(t) for t in rows])


ROUTES = [
    Route("GET", "/device-info", get_device_info, "operator"),
    Route("GET", "/status", get_status, "operator"),
    Route("GET", "/installer-status", get_installer_status, "installer"),
    Route("GET", "/transactions", get_transactions, "operator"),
]
