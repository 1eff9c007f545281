"""Benchmark: process start to "ready", and the idle resident memory of the agent.

    python -m bench.startup [--runs 5] [--idle 5]

Spawns `python -m ncpa run --sim --log-format json` (API on 127.0.0.1, free
ports, its own data directory) and measures from spawn to the `ncpa.ready` log
line on stderr. The first start meets an empty data directory (first boot:
the database is created); the --runs starts after it reuse that directory, as
a charger does on every boot, and their median is the figure. After the last
start the agent idles for --idle seconds, then VmRSS is read from /proc.

The floor, measured in the same run the same way: a process that imports only what any
agent needs (aiohttp, websockets, ocpp, pyjwt, cryptography), prints a ready line and
idles. The agent's figures are printed as multiples of it. `ncpa --help` is timed too,
with the driver libraries it loaded (none: the drivers load only for the configured
hardware).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bench.report import Figure, median, print_table

READY_TIMEOUT_S = 60.0
CONFIG = """\
# loopback only: plain HTTP, nothing reachable from outside
[api]
host = "127.0.0.1"
"""


@dataclass(frozen=True)
class Start:
    to_ready_s: float  # spawn -> ncpa.ready line read by us
    in_process_s: float  # what the daemon itself reports: its run() -> ready


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _drain(stream: IO[str]) -> None:
    for _ in stream:  # keep the pipe empty so the agent never blocks on a log line
        pass


def spawn(
    workdir: Path, config: str = CONFIG, api_port: int | None = None, hardware: str = ""
) -> tuple[subprocess.Popen[str], Start]:
    """Start the agent (on the simulator, or on the drivers of `hardware`); return it once
    it logged ncpa.ready."""
    cfg = workdir / "ncpa.toml"
    cfg.write_text(config + hardware)
    cmd = [sys.executable, "-m", "ncpa", "run", "--config", str(cfg),
           "--data-dir", str(workdir / "data"), "--api-port", str(api_port or free_port()),
           "--log-format", "json"]  # fmt: skip
    if not hardware:
        cmd += ["--sim", "--sim-port", str(free_port())]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    seen: list[str] = []
    # reading stderr blocks: an agent that hangs silently is killed, which ends the stream
    watchdog = threading.Timer(READY_TIMEOUT_S, proc.kill)
    watchdog.start()
    try:
        for line in proc.stderr:
            t1 = time.perf_counter()
            seen.append(line)
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                record = {}
            if record.get("event") == "ncpa.ready":
                threading.Thread(target=_drain, args=(proc.stderr,), daemon=True).start()
                return proc, Start(t1 - t0, float(record.get("seconds", 0.0)))
    finally:
        watchdog.cancel()
    stop(proc)
    tail = "".join(seen[-20:])
    raise RuntimeError(f"startup: the agent never logged ncpa.ready:\n{tail}")


FLOOR = (
    "import json, sys, time, asyncio, aiohttp.web, websockets, ocpp.v16, jwt, "
    "cryptography.x509; print(json.dumps({'event': 'ncpa.ready'}), file=sys.stderr, "
    "flush=True); time.sleep(3600)"
)
DRIVER_LIBS = ("pymodbus", "gpiozero", "dsmr_parser", "qrcode", "serial", "lgpio")


def spawn_floor() -> tuple[subprocess.Popen[str], float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", FLOOR], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    line = proc.stderr.readline()
    if "ncpa.ready" not in line:
        stop(proc)
        raise RuntimeError(f"startup: the floor process failed: {line}")
    return proc, time.perf_counter() - t0


def help_imports() -> tuple[float, list[str]]:
    """Seconds for `ncpa --help`, and the driver libraries it imported."""
    probe = (
        "import sys, io, contextlib; from ncpa.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\n"
        f"print(','.join(m for m in {DRIVER_LIBS!r} if m in sys.modules))"
    )
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return time.perf_counter() - t0, [m for m in out.stdout.strip().split(",") if m]


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (resident now) and VmHWM (peak resident) in MB."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(rest.split()[0]) / 1024  # kB
    return out


def run(runs: int, idle_s: float, hardware: str = "") -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        proc, first = spawn(workdir, hardware=hardware)
        stop(proc)
        starts: list[Start] = []
        mem: dict[str, float] = {}
        for i in range(runs):
            proc, start = spawn(workdir, hardware=hardware)
            starts.append(start)
            if i == runs - 1:
                time.sleep(idle_s)
                if proc.poll() is not None:
                    raise RuntimeError(f"startup: the agent exited ({proc.returncode}) while idle")
                mem = memory_mb(proc.pid)
            stop(proc)
        floors: list[float] = []
        floor_mem: dict[str, float] = {}
        for i in range(runs):
            fproc, t = spawn_floor()
            floors.append(t)
            if i == runs - 1:
                time.sleep(idle_s)
                floor_mem = memory_mb(fproc.pid)
            stop(fproc)
    help_s, help_libs = help_imports()
    to_ready = [s.to_ready_s for s in starts]
    floor_s = median(floors)
    return [
        Figure(
            "process start -> ready, median",
            median(to_ready),
            "s",
            f"{runs} starts, min {min(to_ready):.3f} s, max {max(to_ready):.3f} s; "
            f"{median(to_ready) / floor_s:.2f}x the floor",
        ),
        Figure(
            "  of which inside the daemon (run -> ready)",
            median([s.in_process_s for s in starts]),
            "s",
            "the rest is the interpreter and imports",
        ),
        Figure("first boot (empty data directory)", first.to_ready_s, "s"),
        Figure(
            "idle RSS (VmRSS)",
            mem["VmRSS"],
            "MB",
            f"after {idle_s:g} s idle, nothing plugged; "
            f"{mem['VmRSS'] / floor_mem['VmRSS']:.2f}x the floor",
        ),
        Figure("peak RSS (VmHWM)", mem["VmHWM"], "MB"),
        Figure(
            "floor: start -> ready, median",
            floor_s,
            "s",
            "aiohttp + websockets + ocpp + pyjwt + cryptography imported, nothing else",
        ),
        Figure("floor: idle RSS (VmRSS)", floor_mem["VmRSS"], "MB"),
        Figure(
            "`ncpa --help`",
            help_s,
            "s",
            "driver libraries imported: " + (", ".join(help_libs) or "none"),
        ),
    ]


async def run_on_drivers(runs: int, idle_s: float) -> list[Figure]:
    """The agent on its real drivers (Modbus meter, OpenEVSE and PN532 on ptys, mock GPIO
    pins): what a charger loads, emulated by the test suite's rig in this process."""
    import asyncio

    from tests.drivers.rig import emulated_rig
    from tests.drivers.test_daemon_process_on_drivers import HARDWARE

    async with emulated_rig(contactor="rapi") as rig:
        hardware = "[station]\nhas_lock = false\n" + HARDWARE.format(
            meter_port=rig.meter.port, evcc_port=rig.evcc.path, rfid_port=rig.rfid.path
        )
        return await asyncio.to_thread(run, runs, idle_s, hardware)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5, help="starts to take the median of (default 5)")
    p.add_argument("--idle", type=float, default=5.0, help="seconds idle before reading RSS")
    args = p.parse_args(argv)
    if args.runs < 1 or args.idle < 0:
        p.error("--runs must be >= 1 and --idle >= 0")
    import asyncio

    print_table(
        f"startup: `python -m ncpa run --sim` on this machine ({os.cpu_count()} CPUs)",
        run(args.runs, args.idle),
    )
    print_table(
        "startup: `python -m ncpa run` on the real drivers (emulated rig)",
        asyncio.run(run_on_drivers(args.runs, args.idle)),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
