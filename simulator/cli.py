"""ncpa-sim: drive the simulated charger from a terminal (a client of the control API)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any

DEFAULT_URL = os.environ.get("NCPA_SIM_URL", "http://127.0.0.1:8081")


class SimClient:
    def __init__(self, base_url: str = DEFAULT_URL) -> None:
        self.base = base_url.rstrip("/")

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("content-type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            try:
                msg = json.loads(e.read()).get("message", e.reason)
            except ValueError:
                msg = e.reason
            raise SystemExit(f"ncpa-sim: {msg}") from None
        except urllib.error.URLError as e:
            raise SystemExit(
                f"ncpa-sim: no simulator at {self.base} ({e.reason}); is `ncpa run --sim` running?"
            ) from None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.request("POST", path, body if body is not None else {})


def format_status(sim: dict[str, Any], agent: dict[str, Any] | None) -> str:
    lines = []
    agents = {c["id"]: c for c in (agent or {}).get("connectors", [])}
    for c in sim["connectors"]:
        a = agents.get(c["id"], {})
        ev = c["ev"]
        ev_txt = "no EV"
        if ev:
            want = "wants energy" if ev["wants_energy"] else "paused"
            ev_txt = f"EV {want}, SoC {ev['soc'] * 100:.1f}%"
        lines.append(
            f"connector {c['id']}: {a.get('status', '?'):<13} pilot {c['pilot']}  "
            f"offer {c['offered_current']:g} A  "
            f"contactor {'closed' if c['contactor']['closed'] else 'open'}  "
            f"lock {'locked' if c['lock']['locked'] else 'free'}  {ev_txt}"
        )
        amps = "/".join(f"{i:g}" for i in c["currents"])
        lines.append(
            f"  draw {amps} A  {c['power_w'] / 1000:.2f} kW  meter {c['energy_wh'] / 1000:.3f} kWh"
            + (f"  limit {a['limit']['amps']:g} A ({a['limit']['source']})" if a else "")
        )
        tx = a.get("transaction")
        if tx:
            lines.append(
                f"  transaction {tx['id']} ({tx['id_tag']}): {tx['consumed_wh']:.1f} Wh so far"
            )
        if c["faults"]:
            lines.append(f"  faults: {', '.join(c['faults'])}")
    if not sim["breaker_closed"]:
        lines.append("breaker TRIPPED (ncpa-sim breaker reset)")
    if sim.get("last_card"):
        lines.append(f"last card: {sim['last_card']}")
    for tx in (agent or {}).get("recent_transactions", [])[:3]:
        if tx.get("stop_ts"):
            lines.append(
                f"finished transaction {tx['id']} ({tx['id_tag']}): {tx['consumed_wh']:.1f} Wh, "
                f"{tx['stop_reason']}"
            )
    return "\n".join(lines)


def pv_body(value: str, peak: str | None, day_s: float, start_h: float) -> dict[str, Any]:
    """The POST /sim/pv body of `ncpa-sim pv ...` (the simulator checks the numbers)."""
    try:
        if value == "off":
            return {"off": True}
        if value == "day":
            if peak is None:
                raise SystemExit("ncpa-sim pv day PEAK_W: the peak power in W")
            return {"day": {"peak_w": float(peak), "day_s": day_s, "start_h": start_h}}
        if "," in value or peak == "A":
            return {"currents": [float(a) for a in value.split(",")]}
        return {"watts": float(value)}
    except ValueError:
        raise SystemExit(f"ncpa-sim pv: {value!r} is not a number") from None


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:  # `ncpa-sim status | head`
        from ncpa.cli import output_closed

        return output_closed("ncpa-sim")


def _main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="ncpa-sim", description="Drive the simulated charger.")
    p.add_argument("--url", default=DEFAULT_URL, help="simulator control URL (env NCPA_SIM_URL)")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("status", help="show the simulated hardware and the agent's view")
    s.add_argument("--json", action="store_true")
    s = sub.add_parser("watch", help="status, refreshed every second (Ctrl-C to stop)")
    s.add_argument("--interval", type=float, default=1.0)
    s = sub.add_parser("plug", help="plug an EV in")
    s.add_argument("-c", "--connector", type=int, default=1)
    s.add_argument("--soc", type=float, help="state of charge 0..1")
    s.add_argument("--capacity-kwh", type=float)
    s.add_argument("--max-current", type=float, help="amps per phase the EV takes at most")
    s.add_argument("--phases", type=int, choices=(1, 2, 3))
    s = sub.add_parser("unplug", help="unplug the EV")
    s.add_argument("-c", "--connector", type=int, default=1)
    s = sub.add_parser("ev", help="the EV pauses (B / pause) or asks for energy (C / charge)")
    s.add_argument("state", choices=("B", "C", "pause", "charge"))
    s.add_argument("-c", "--connector", type=int, default=1)
    s = sub.add_parser("tap", help="present an RFID card")
    s.add_argument("uid")
    s = sub.add_parser("fault", help="inject or clear a fault")
    s.add_argument(
        "kind",
        choices=("rcd", "welded_contactor", "lock_failure", "meter_timeout", "evcc_link_lost"),
    )
    s.add_argument("active", choices=("on", "off"))
    s.add_argument("-c", "--connector", type=int, default=1)
    s = sub.add_parser("breaker", help="reset the breaker after a shunt trip")
    s.add_argument("action", choices=("reset",))
    s = sub.add_parser(
        "pv",
        help="solar production the grid meter subtracts: pv 3000 | pv 10,10,10 A | "
        "pv day 7000 [--day-s 60] | pv off",
    )
    s.add_argument("value", help="watts, amps per phase (a,b,c A), 'day PEAK_W' or 'off'")
    s.add_argument("peak", nargs="?", help="with 'day': the peak in W")
    s.add_argument("--day-s", type=float, default=60.0, help="seconds a simulated day lasts")
    s.add_argument("--start-h", type=float, default=6.0, help="the simulated hour to start at")
    s = sub.add_parser("input", help="set a digital input (e.g. tariff)")
    s.add_argument("name")
    s.add_argument("value", choices=("on", "off"))
    args = p.parse_args(argv)
    client = SimClient(args.url)

    def agent() -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = client.get("/sim/agent")
            return result
        except SystemExit:
            return None

    if args.cmd == "status":
        if args.json:
            print(json.dumps({"sim": client.get("/sim"), "agent": agent()}, indent=2))
        else:
            print(format_status(client.get("/sim"), agent()))
        return 0
    if args.cmd == "watch":
        try:
            while True:
                text = format_status(client.get("/sim"), agent())
                sys.stdout.write("\x1b[2J\x1b[H" + time.strftime("%H:%M:%S\n") + text + "\n")
                sys.stdout.flush()
                time.sleep(args.interval)
        except KeyboardInterrupt:
            return 0
    if args.cmd == "plug":
        body: dict[str, Any] = {}
        for key, value in (
            ("soc", args.soc),
            ("capacity_kwh", args.capacity_kwh),
            ("max_current", args.max_current),
            ("phases", args.phases),
        ):
            if value is not None:
                body[key] = value
        client.post(f"/sim/connectors/{args.connector}/plug", body)
    elif args.cmd == "unplug":
        client.post(f"/sim/connectors/{args.connector}/unplug")
    elif args.cmd == "ev":
        state = {"pause": "B", "charge": "C"}.get(args.state, args.state)
        client.post(f"/sim/connectors/{args.connector}/ev", {"state": state})
    elif args.cmd == "tap":
        client.post("/sim/rfid", {"uid": args.uid})
    elif args.cmd == "fault":
        client.post(
            "/sim/faults",
            {"kind": args.kind, "active": args.active == "on", "connector": args.connector},
        )
    elif args.cmd == "breaker":
        client.post("/sim/breaker", {"closed": True})
    elif args.cmd == "pv":
        state = client.post("/sim/pv", pv_body(args.value, args.peak, args.day_s, args.start_h))
        print(f"pv: {state['kind']}, now {state['watts']:g} W")
        return 0
    elif args.cmd == "input":
        client.post(f"/sim/inputs/{args.name}", {"value": args.value == "on"})
    time.sleep(0.3)  # let the agent react, then show what it did
    print(format_status(client.get("/sim"), agent()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
