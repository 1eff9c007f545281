"""Benchmark: the web page's weight and its time to first render in headless Chromium.

    python -m bench.web_page [--runs 5]

Starts the real agent on the simulator (`ncpa run --sim`, as the browser tests do),
then loads http://127.0.0.1:<api>/ in Debian's Chromium (Playwright, fresh browser
context per run: a cold cache, as a phone that never saw the charger). Figures:
the bytes of everything the page loads (the unpaired page, and what pairing adds up to
the first live view), the requests, first contentful paint and DOMContentLoaded, and
the time from pressing Pair to the first connector shown live (median over the runs).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import Figure, median, print_table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.integration.agent import Agent  # noqa: E402
from tests.web.browser import ARGS, chromium_path, why_not  # noqa: E402


def qr_token() -> str:
    out = subprocess.run(
        [sys.executable, "-m", "ncpa", "qr", "--id", "NCPA-IT-0001", "--role", "installer",
         "--format", "token"],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    return out.stdout.strip()


def one_run(browser: Any, url: str, token: str) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    loaded: list[tuple[str, int]] = []

    def on_response(r: Any) -> None:
        if r.url.endswith("/events") or "/events?" in r.url:
            return  # a stream: counted below by what it sent before the live view
        try:
            loaded.append((r.url, len(r.body())))
        except Exception:  # a response without a body (304, aborted)
            loaded.append((r.url, 0))

    page.on("response", on_response)
    page.goto(url, wait_until="load")
    paint = page.evaluate(
        "(() => { const p = performance.getEntriesByName('first-contentful-paint')[0];"
        " const n = performance.getEntriesByType('navigation')[0];"
        " return [p ? p.startTime : -1, n.domContentLoadedEventEnd]; })()"
    )
    page_bytes = sum(n for _, n in loaded)
    page_requests = len(loaded)
    page.fill("#qr-token", token)
    t0 = time.perf_counter()
    page.click("#pair")
    page.wait_for_selector("#connector-1 dd[data-field='status']")
    to_live = (time.perf_counter() - t0) * 1000
    paired_bytes = sum(n for _, n in loaded)
    context.close()
    return {
        "fcp": float(paint[0]),
        "dcl": float(paint[1]),
        "page_bytes": page_bytes,
        "page_requests": page_requests,
        "paired_bytes": paired_bytes,
        "paired_requests": len(loaded),
        "to_live": to_live,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.web_page", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="cold page loads (5)")
    args = parser.parse_args(argv)
    reason = why_not()
    if reason is not None:
        print(f"  {reason}")
        return 0
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="ncpa-bench-web-") as tmp:
        agent = Agent(Path(tmp)).start()
        try:
            token = qr_token()
            url = f"http://127.0.0.1:{agent.api_port}/"
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=chromium_path(), headless=True, args=ARGS
                )
                one_run(browser, url, token)  # warm-up: the agent's first answers
                runs = [one_run(browser, url, token) for _ in range(args.runs)]
                browser.close()
        finally:
            agent.stop()
    jsqr = (ROOT / "ncpa" / "web" / "static" / "jsQR.js").stat().st_size
    print_table(
        f"web page, {args.runs} cold loads in headless Chromium (phone viewport 390x844)",
        [
            Figure("page weight", runs[0]["page_bytes"] / 1024, "kB",
                   f"{runs[0]['page_requests']:.0f} requests, uncompressed"),
            Figure("with pairing, to live", runs[0]["paired_bytes"] / 1024, "kB",
                   f"{runs[0]['paired_requests']:.0f} requests (/auth, /device-info, "
                   "stream not counted)"),
            Figure("camera fallback (jsQR)", jsqr / 1024, "kB",
                   "loaded only to scan a label without BarcodeDetector"),
            Figure("first contentful paint", median([r["fcp"] for r in runs]), "ms", "median"),
            Figure("DOMContentLoaded", median([r["dcl"] for r in runs]), "ms", "median"),
            Figure("Pair -> live view", median([r["to_live"] for r in runs]), "ms",
                   "median: /auth, then the stream's first snapshot rendered"),
        ],
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
