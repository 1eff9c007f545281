"""Fixtures of the browser tests: one real `ncpa run --sim` daemon for the module,
a headless Chromium with a fresh profile, and QR tokens made by `ncpa qr`."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.agent import REPO, Agent
from tests.web.browser import ARGS, ARTIFACTS, chromium_path

WEB_CONFIG = """
[local_api]
token_ttl = 30
learn_timeout = 20
auth_attempts = 200  # every test pairs from 127.0.0.1
"""


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    a = Agent(tmp_path_factory.mktemp("web"), auth_mode="WHITELIST", extra=WEB_CONFIG)
    a.start()
    yield a
    a.stop()


@pytest.fixture(scope="module")
def base_url(agent: Agent) -> str:
    return f"http://127.0.0.1:{agent.api_port}"


_tokens: dict[str, str] = {}


def qr_token(role: str) -> str:
    """A QR label's token, made by the real tool with the development keys."""
    if role not in _tokens:
        out = subprocess.run(
            [sys.executable, "-m", "ncpa", "qr", "--id", "NCPA-IT-0001", "--role", role,
             "--format", "token"],
            cwd=REPO, capture_output=True, text=True, check=True, timeout=30,
        )  # fmt: skip
        _tokens[role] = out.stdout.strip()
    return _tokens[role]


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


def launch(playwright: Any, profile: str, extra_args: tuple[str, ...] = (), **options: Any) -> Any:
    """Debian's Chromium, headless, on a fresh profile directory (the user-data-dir)."""
    return playwright.chromium.launch_persistent_context(
        profile,
        executable_path=chromium_path(),
        headless=True,
        args=[*ARGS, *extra_args],
        viewport={"width": 1280, "height": 900},
        **options,
    )


@pytest.fixture(scope="module")
def browser(playwright: Any) -> Iterator[Any]:
    with tempfile.TemporaryDirectory(prefix="ncpa-chromium-") as profile:
        context = launch(playwright, profile)
        yield context
        context.close()


class PageProblems:
    """Console errors and CSP violations seen by a page: a test ends with none."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))


@pytest.fixture
def page(browser: Any, base_url: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    p = browser.new_page()
    problems = PageProblems(p)
    p.goto(base_url + "/")
    yield p
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    p.screenshot(path=str(ARTIFACTS / f"{request.node.name}-end.png"), full_page=True)
    p.close()
    # an API error answer is logged by Chromium as a failed load: expected in error tests;
    # anything else (a CSP violation, a script error) fails the test
    unexpected = [e for e in problems.errors if not e.startswith("Failed to load resource")]
    assert not unexpected, unexpected


def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
