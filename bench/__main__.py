"""Every benchmark, one after the other, each printing its figures: `make bench`.

    python -m bench [NAME ...]      (default: all of them, in the order below)

Each benchmark's main() runs in its own process (as `python -m bench.NAME`
would), so that one cannot change another's logging, event loop or memory
figures, and a crash or a hang (killed after a time limit) does not stop the
others. A benchmark whose
module is not in this tree yet is listed as "not available". Step counts are
kept small enough for the whole run to take a few minutes on a 2-core machine;
run a module on its own with its defaults for steadier figures.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIME_LIMIT_S = 90.0
# offered to modules that arrive later, when their --help lists the option
SMALL = {"--steps": "50", "--runs": "50", "--iterations": "50", "--seconds": "3"}


@dataclass(frozen=True)
class Benchmark:
    name: str  # module bench.<name>
    what: str
    options: dict[str, str] = field(default_factory=lambda: dict(SMALL))


BENCHMARKS = [
    Benchmark("startup", "process start to ready (s), idle RSS (MB)", {"--runs": "5"}),
    Benchmark(
        "control_latency",
        "EV state / card -> contactor command (ms, median and p99)",
        {"--runs": "200"},
    ),
    Benchmark("api_status", "local API GET /status (req/s, ms)", {"--seconds": "3"}),
    Benchmark("api_churn", "RSS after 2,000 HTTPS connections opened and closed (MB)", {}),
    Benchmark("grid_reduction", "grid measurement -> lower pilot offer (ms)", {"--steps": "200"}),
    Benchmark("profile_to_pilot", "charging profile -> pilot offer (ms)"),
    Benchmark(
        "ocpp_replay", "OCPP message replay, 1.6 and 2.0.1, against 1/RTT", {"--messages": "1000"}
    ),
    Benchmark(
        "ocpp_profile_to_pilot",
        "SetChargingProfile from the CSMS (1.6 and 2.0.1) -> pilot offer (ms)",
    ),
    Benchmark(
        "web_page", "web page weight (kB) and first render in Chromium (ms)", {"--runs": "5"}
    ),
    Benchmark("solar_step", "surplus step (SOLAR) -> new pilot offer (ms)"),
    Benchmark("mqtt_publish", "status change -> MQTT state at a subscriber (ms)"),
]


# main() reads its options from sys.argv (argparse's default), whatever its signature, and
# runs even when the module lacks an `if __name__ == "__main__"` block
LAUNCH = (
    "import sys, importlib; name = sys.argv[1]; sys.argv[:2] = [f'python -m bench.{name}']; "
    "sys.exit(importlib.import_module(f'bench.{name}').main() or 0)"
)


def available(name: str) -> bool:
    return importlib.util.find_spec(f"bench.{name}") is not None


def command(name: str, *args: str) -> list[str]:
    return [sys.executable, "-c", LAUNCH, name, *args]


def arguments(b: Benchmark) -> list[str]:
    """The options of `b` that its module accepts (asked through --help)."""
    if not b.options:
        return []
    helptext = subprocess.run(
        command(b.name, "--help"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    args: list[str] = []
    for flag, value in b.options.items():
        if flag in helptext.split():
            args += [flag, value]
    return args


def run_one(b: Benchmark) -> tuple[str, float]:
    """Run one benchmark with its output going straight to ours; (result, seconds)."""
    if not available(b.name):
        print(f"  not available (no bench/{b.name}.py in this tree)", flush=True)
        return "not available", 0.0
    t0 = time.monotonic()
    try:
        args = arguments(b)
        print(f"  $ python -m bench.{b.name} {' '.join(args)}".rstrip(), flush=True)
        rc = subprocess.run(command(b.name, *args), cwd=ROOT, timeout=TIME_LIMIT_S).returncode
    except subprocess.TimeoutExpired:
        return f"killed after {TIME_LIMIT_S:g} s", time.monotonic() - t0
    return ("ok" if rc == 0 else f"failed (exit {rc})"), time.monotonic() - t0


def main(argv: list[str] | None = None) -> int:
    names = argv if argv is not None else sys.argv[1:]
    known = {b.name: b for b in BENCHMARKS}
    unknown = [n for n in names if n not in known]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have: {', '.join(known)}")
        return 2
    chosen = [known[n] for n in names] if names else BENCHMARKS
    results: list[tuple[Benchmark, str, float]] = []
    t0 = time.monotonic()
    for b in chosen:
        print(f"\n== {b.name}: {b.what}", flush=True)
        result, seconds = run_one(b)
        results.append((b, result, seconds))
    width = max(len(b.name) for b, _, _ in results)
    print(f"\n== summary ({time.monotonic() - t0:.0f} s in all)")
    for b, result, seconds in results:
        took = f"{seconds:6.1f} s" if seconds else " " * 8
        print(f"  {b.name:<{width}}  {took}  {result}")
    failed = [r for _, r, _ in results if r not in ("ok", "not available")]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
