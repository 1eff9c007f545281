"""Benchmark: the agent's resident memory under connection churn on its HTTPS API.

    python -m bench.api_churn [--connections 2000] [--batch 400]

Spawns `python -m ncpa run --sim` with the local API on 127.0.0.1 over TLS (as on the
hotspot), then opens --connections raw TCP connections in batches of --batch, each closed
without a TLS handshake (what a scanner or a half-open flood does), and reads VmRSS from
/proc of the agent: at start, after each batch, and after a short rest. Before the listener
of ncpa/api/listener.py each batch of 400 added about 120 MB (issue 13, item 17).
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import time
from pathlib import Path

from bench.report import Figure, print_table
from bench.startup import free_port, memory_mb, spawn, stop

CONFIG = """\
[api]
host = "127.0.0.1"

[local_api]
tls = "on"
"""


def churn(port: int, n: int) -> None:
    for _ in range(n):
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass


def run(connections: int, batch: int) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        proc, _ = spawn(Path(tmp), CONFIG, api_port=port)
        try:
            time.sleep(2.0)  # let the start settle
            start = memory_mb(proc.pid)["VmRSS"]
            figures = [Figure("RSS at start (VmRSS)", start, "MB", "HTTPS API, idle")]
            done = 0
            while done < connections:
                step = min(batch, connections - done)
                churn(port, step)
                done += step
                time.sleep(0.5)
                figures.append(
                    Figure(f"  after {done} connections", memory_mb(proc.pid)["VmRSS"], "MB")
                )
            time.sleep(3.0)
            mem = memory_mb(proc.pid)
            if proc.poll() is not None:
                raise RuntimeError(f"api_churn: the agent exited ({proc.returncode})")
        finally:
            stop(proc)
    return [
        *figures,
        Figure(
            f"RSS after {connections} connections opened and closed",
            mem["VmRSS"],
            "MB",
            f"+{mem['VmRSS'] - start:.0f} MB over the start, 3 s after the last",
        ),
        Figure("peak RSS (VmHWM)", mem["VmHWM"], "MB"),
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.api_churn", description=__doc__.splitlines()[0]
    )
    p.add_argument("--connections", type=int, default=2000)
    p.add_argument("--batch", type=int, default=400)
    args = p.parse_args(argv)
    if args.connections < 1 or args.batch < 1:
        p.error("--connections and --batch must be >= 1")
    print_table(
        "api_churn: raw TCP connections to the HTTPS API, closed before a handshake",
        run(args.connections, args.batch),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
