"""Benchmark: authenticated GET /status of the local API, next to a bare aiohttp handler.

    python -m bench.api_status [--clients 50] [--seconds 5]

Both servers run in this process, on the simulator board, over loopback plain HTTP;
the load comes from a separate process (its own event loop), 50 concurrent clients
each sending one request after the other. Prints requests/s, p50 and p99 latency.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from ncpa import config
from ncpa.api.app import ApiServer
from ncpa.api.qr_issue import qr_token
from ncpa.api.settings import DEV_KEYS, ApiSettings
from ncpa.charging.station import ChargingStation
from simulator.inprocess import sim_charger

CP_ID = "BENCH-1"


async def _clients(url: str, headers: dict[str, str], clients: int, seconds: float) -> list[float]:
    latencies: list[float] = []
    end = time.perf_counter() + seconds
    conn = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=conn, headers=headers) as session:

        async def one() -> None:
            while time.perf_counter() < end:
                t0 = time.perf_counter()
                async with session.get(url) as r:
                    await r.read()
                    if r.status != 200:
                        raise RuntimeError(f"{url}: {r.status}")
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(one() for _ in range(clients)))
    return latencies


def _load_process(url: str, headers: dict[str, str], clients: int, seconds: float, q: Any) -> None:
    q.put(asyncio.run(_clients(url, headers, clients, seconds)))


async def _measure(
    url: str, headers: dict[str, str], clients: int, seconds: float
) -> tuple[float, float, float]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=_load_process, args=(url, headers, clients, seconds, q))
    proc.start()
    # the servers live in this loop: wait without blocking it
    latencies: list[float] = await asyncio.to_thread(q.get)
    await asyncio.to_thread(proc.join)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return len(latencies) / seconds, statistics.median(latencies), p99


async def _bare_server() -> tuple[web.AppRunner, int]:
    body = {
        "chargePointStatus": "OPERATIVE",
        "transactionStatus": ["AVAILABLE"],
        "connectorStatus": ["OPERATIVE"],
        "authorizationMode": "WHITELIST",
        "chargeStationMaxCurrent": 32.0,
        "numberOfRFIDCardsRegistered": 0,
    }

    async def handler(_: web.Request) -> web.Response:
        return web.json_response(body)

    app = web.Application()
    app.router.add_get("/status", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, int(runner.addresses[0][1])


async def run(clients: int, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        cfg = config.load(None, {"simulated": True, "data_dir": data, "id": CP_ID})
        async with sim_charger(cfg) as c:
            await _compare(c.station, data, clients, seconds)


async def _compare(station: ChargingStation, data: Path, clients: int, seconds: float) -> None:
    settings = ApiSettings(
        charge_point_id=CP_ID, data_dir=data, host="127.0.0.1", port=0, developer_mode=True
    )
    api = ApiServer(station, settings, on_reboot=lambda: None)
    await api.start()
    bare, bare_port = await _bare_server()
    try:
        token = qr_token(
            (DEV_KEYS / "qr-issuer.key").read_bytes(),
            bytes.fromhex((DEV_KEYS / "qr-shared-secret").read_text().strip()),
            CP_ID,
            "operator",
        )
        async with (
            aiohttp.ClientSession() as s,
            s.get(
                f"http://127.0.0.1:{api.port}/auth",
                params={"token": token, "clientId": "bench"},
            ) as r,
        ):
            access = (await r.json())["accessToken"]
        print(f"api_status: GET /status, {clients} concurrent clients, {seconds:g} s each")
        rows = [
            (
                "ncpa GET /status (token + clientId)",
                f"http://127.0.0.1:{api.port}/status?clientId=bench",
                {"Authorization": f"Bearer {access}"},
            ),
            ("bare aiohttp handler", f"http://127.0.0.1:{bare_port}/status", {}),
        ]
        for name, url, headers in rows:
            rps, p50, p99 = await _measure(url, headers, clients, seconds)
            print(
                f"  {name:<38} {rps:8.0f} req/s   p50 {p50 * 1000:6.1f} ms"
                f"   p99 {p99 * 1000:6.1f} ms"
            )
    finally:
        await bare.cleanup()
        await api.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.api_status", description=__doc__)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--seconds", type=float, default=5.0)
    args = p.parse_args(argv)
    asyncio.run(run(args.clients, args.seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
