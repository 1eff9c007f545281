"""Debian's Chromium driven by Playwright for Python (no browser download): where it is,
how it is launched, and the one line that says why the browser tests skip."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"


def chromium_path() -> str | None:
    """NCPA_CHROMIUM when set (only that), else Debian's /usr/bin/chromium or one on PATH."""
    chosen = os.environ.get("NCPA_CHROMIUM")
    for candidate in (chosen,) if chosen else ("/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def why_not() -> str | None:
    """None when the browser tests can run, else the reason (one line)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "browser tests skipped: Playwright for Python is not installed (the dev extra)"
    if chromium_path() is None:
        return (
            "browser tests skipped: no Chromium (apt-get install chromium; make test does it in CI)"
        )
    return None
