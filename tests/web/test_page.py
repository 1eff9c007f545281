"""The charger's web page in a real headless Chromium against the real daemon on the
simulator (`ncpa run --sim`, started by the fixture): each story of issue 11's "What
must be shown", one test each, in the order a person would try them. Screenshots are
saved in test-artifacts/web/."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from ncpa.updates.sign import build_bundle
from tests.integration.agent import REPO, Agent
from tests.web.browser import why_not
from tests.web.camera import label_video
from tests.web.conftest import PageProblems, launch, qr_token, shot

if (REASON := why_not()) is not None:
    pytest.skip(REASON, allow_module_level=True)  # one line in the summary

EXPIRING: dict[str, Any] = {}  # the page paired first, left open until its token expires


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(locator)


def pair(page: Any, role: str = "installer") -> None:
    page.fill("#qr-token", qr_token(role))
    page.click("#pair")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#stream-state")).to_have_text("live")


def tab(page: Any, name: str) -> None:
    page.click(f"#tabs a[href='#{name}']")
    expect(page.locator(f"section#{name}")).to_be_visible()


def connector(page: Any, field: str) -> Any:
    return page.locator(f"#connector-1 dd[data-field='{field}']")


def error_of(page: Any, control: str) -> Any:
    """The error shown in the control's own box."""
    return (
        page.locator(f"{control}")
        .locator("xpath=ancestor::*[contains(@class,'control')][1]")
        .locator(".error")
    )


def test_pairing_with_a_qr_token(browser: Any, base_url: str, agent: Agent) -> None:
    page = browser.new_page()
    page.goto(base_url + "/")
    expect(page.locator("#pairing")).to_be_visible()
    expect(page.locator("#app")).to_be_hidden()
    # keyboard only: the token field has the focus; Tab reaches the Pair button
    expect(page.locator("#qr-token")).to_be_focused()
    page.keyboard.insert_text(qr_token("installer"))
    page.keyboard.press("Tab")
    expect(page.locator("#pair")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#who-role")).to_have_text("Signed in as installer")
    expect(page.locator("#station-id")).to_have_text("NCPA-IT-0001")
    expect(page.locator("#tabs a[href='#energy']")).to_be_visible()
    expect(page.locator("#tabs a[href='#developer']")).to_be_hidden()  # installer, not developer
    expect(connector(page, "status")).to_contain_text("Available")
    # the access token is in the page's memory only: nothing in storage, cookies or the URL
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert browser.cookies() == []
    assert "token" not in page.url
    shot(page, "pairing-installer")
    EXPIRING["page"], EXPIRING["paired_at"] = page, time.monotonic()

    # an operator's page has no installer controls; a wrong token is refused with its message
    op = browser.new_page()
    op.goto(base_url + "/")
    op.fill("#qr-token", "v1.not-a-label")
    op.click("#pair")
    expect(error_of(op, "#pair")).to_contain_text("token")
    pair(op, "operator")
    expect(op.locator("#who-role")).to_have_text("Signed in as operator")
    for installer_only in ("energy", "installation", "diagnostics", "developer"):
        expect(op.locator(f"#tabs a[href='#{installer_only}']")).to_be_hidden()
    tab(op, "control")
    expect(op.locator("#station-max-form")).to_be_hidden()
    expect(op.locator("#shunt")).to_be_hidden()
    expect(op.locator("#auth-mode-form")).to_be_visible()
    op.evaluate("location.hash = '#energy'")  # typed in by hand: still absent
    expect(op.locator("section#live")).to_be_visible()
    expect(op.locator("section#energy")).to_be_hidden()
    op.reload()
    expect(op.locator("#pairing")).to_be_visible()  # a reload forgets the token: pair again
    op.close()


def test_pairing_by_reading_the_label_with_the_camera(
    playwright: Any, base_url: str, tmp_path: Path
) -> None:
    """The camera sees the QR label (Chromium's fake camera plays a video of it); the page
    decodes it (jsQR: desktop Chromium has no BarcodeDetector) and pairs."""
    video = label_video(qr_token("operator"), tmp_path / "label.y4m")
    camera = [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    context = launch(playwright, str(tmp_path / "profile"), tuple(camera), permissions=["camera"])
    try:
        page = context.new_page()
        problems = PageProblems(page)
        page.goto(base_url + "/")
        page.click("#scan")
        expect(page.locator("#who-role")).to_have_text("Signed in as operator", timeout=20000)
        expect(page.locator("#camera")).to_be_hidden()  # the camera is released
        shot(page, "pairing-camera")
    finally:
        context.close()
    assert not [e for e in problems.errors if not e.startswith("Failed to load resource")]


def test_session_started_from_the_page_and_seen_charging(page: Any, agent: Agent) -> None:
    pair(page, "developer")  # the simulator panel plugs the EV in, from the page too
    tab(page, "control")
    page.fill("#start-tag", "WEB0001")
    page.click("#start")
    expect(error_of(page, "#start").locator("xpath=..").locator(".ok")).to_contain_text(
        "Start requested"
    )
    tab(page, "developer")
    page.fill("#sim-soc", "30")
    page.click("#sim-plug")
    expect(page.locator("#sim-plug-form .ok")).to_have_text("EV plugged in.")
    tab(page, "live")
    expect(connector(page, "status")).to_contain_text("Charging", timeout=15000)
    expect(connector(page, "card")).to_have_text("WEB0001")
    expect(connector(page, "contactor")).to_have_text("closed")
    expect(connector(page, "lock")).to_have_text("locked")
    expect(connector(page, "power")).not_to_have_text("0.00 kW", timeout=10000)
    expect(connector(page, "limit")).to_contain_text("set by installer")
    # the chart draws the session: a power line and an offered-current line with points
    page.wait_for_function(
        "document.querySelector('#chart .power')"
        " && document.querySelector('#chart .power').getAttribute('points').split(' ').length > 3",
        timeout=15000,
    )
    assert page.locator("#chart .offered").count() == 1
    expect(page.locator("#chart-desc")).to_contain_text("Solid line: power")
    energy = connector(page, "session-energy")
    expect(energy).to_contain_text("kWh")
    assert re.match(r"\d+\.\d{3} kWh", energy.inner_text())
    shot(page, "session-charging-laptop")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    expect(connector(page, "status")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    shot(page, "session-charging-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    assert agent.status() == "Charging"  # the agent agrees


def test_limit_change_shows_its_source(page: Any, agent: Agent) -> None:
    pair(page)
    expect(connector(page, "status")).to_contain_text("Charging", timeout=15000)  # from before
    tab(page, "control")
    page.fill("#station-max", "8")
    page.click("#station-max-save")
    expect(page.locator("#station-max-form .ok")).to_have_text("Saved: 8 A")
    tab(page, "live")
    expect(connector(page, "limit")).to_have_text("8 A set by installer")
    expect(connector(page, "all-limits")).to_contain_text("installer 8 A")
    expect(page.locator("#limit-marks")).to_contain_text("limit 8 A, source installer")
    expect(page.locator("#chart .limit-mark text").last).to_have_text("8 A installer")
    expect(connector(page, "offered")).to_have_text("8.0 A", timeout=10000)
    shot(page, "limit-installer")
    assert agent.connector()["limit"] == {"amps": 8.0, "source": "installer"}


def test_card_learned(page: Any, agent: Agent) -> None:
    pair(page)
    tab(page, "cards")
    page.click("#learn")
    countdown = page.locator("#learn-countdown")
    expect(countdown).to_contain_text("s left")
    first = int(re.findall(r"(\d+) s left", countdown.inner_text())[0])
    assert 15 <= first <= 20  # [local_api] learn_timeout = 20
    shot(page, "card-learning")
    agent.post("/sim/rfid", {"uid": "C0FFEE42"})  # the card at the reader
    expect(page.locator("#cards .control:has(#learn) .ok")).to_contain_text("C0FFEE42")
    row = page.locator("#card-table tr[data-card='C0FFEE42']")
    expect(row).to_contain_text("ACCEPTED")
    expect(countdown).to_have_text("")
    row.get_by_role("button", name="Block").click()
    expect(row).to_contain_text("BLOCKED")
    shot(page, "card-learned-blocked")


def test_simulator_panel_and_diagnostics(page: Any, agent: Agent) -> None:
    pair(page, "developer")
    tab(page, "developer")
    page.select_option("#sim-fault", "rcd")
    page.click("#sim-fault-on")
    expect(page.locator("#sim-fault-form .ok")).to_have_text("Fault injected.")
    tab(page, "live")
    expect(connector(page, "status")).to_contain_text("Faulted")
    expect(connector(page, "contactor")).to_have_text("open")
    expect(connector(page, "faults")).not_to_have_text("none")
    shot(page, "simulator-fault")
    tab(page, "diagnostics")
    page.select_option("#journal-kind", "FaultChanged")
    page.click("#journal-form button[type=submit]")
    expect(page.locator("#journal li").first).to_contain_text("FaultChanged")
    page.select_option("#logs-level", "WARNING")
    page.fill("#logs-contains", "fault")
    page.click("#logs-form button[type=submit]")
    expect(page.locator("#logs li").first).to_contain_text("fault")
    expect(page.locator("#logs")).not_to_contain_text(" INFO ")
    page.check("#trace-switch")
    expect(page.locator("#trace")).to_contain_text("no frames yet")
    page.uncheck("#trace-switch")
    expect(page.locator("#trace")).to_contain_text("the trace is off")
    shot(page, "diagnostics")
    tab(page, "developer")
    page.click("#sim-fault-off")
    expect(page.locator("#sim-fault-form .ok")).to_have_text("Fault cleared.")
    page.click("#sim-unplug")
    expect(page.locator("#sim-plug-form .ok")).to_have_text("EV unplugged.")
    page.click("#sim-unplug")  # nothing plugged: the simulator's 409, next to the button
    expect(page.locator("#sim-plug-form .error")).to_contain_text("Error: simulator:")
    tab(page, "live")
    expect(connector(page, "status")).to_contain_text("Available", timeout=10000)


def test_transactions_listed_and_downloaded(page: Any) -> None:
    pair(page)
    tab(page, "transactions")
    row = page.locator("#tx-table tbody tr").first
    expect(row).to_contain_text("WEB0001")
    expect(row).to_contain_text("kWh")
    with page.expect_download() as info:
        page.click("#tx-csv")
    path = info.value.path()
    text = Path(path).read_text()
    assert text.startswith("id,connectorId,token,startDate,stopDate,durationSeconds,")
    assert "WEB0001" in text
    shot(page, "transactions")


def test_schedule_edited_as_a_week_view(page: Any, base_url: str) -> None:
    pair(page)
    tab(page, "schedule")
    page.select_option("#schedule-recurring", "weekly")
    page.click("#schedule-add")
    page.click("#schedule-add")
    rows = page.locator("#schedule-rows li")
    rows.nth(0).locator(".s-day").select_option("0")
    rows.nth(0).locator(".s-time").fill("07:00")
    rows.nth(0).locator(".s-limit").fill("20")
    rows.nth(1).locator(".s-day").select_option("4")
    rows.nth(1).locator(".s-time").fill("18:30")
    rows.nth(1).locator(".s-limit").fill("25")
    page.click("#schedule-save")
    expect(page.locator("#schedule-form .ok")).to_have_text("Saved: 2 period(s), weekly.")
    week = page.locator("#week tbody tr")
    expect(week.nth(0).locator("td").nth(7)).to_have_text("20")  # Monday 07:00
    expect(week.nth(0).locator("td").nth(6)).to_have_text("25")  # before: last week's last
    expect(week.nth(4).locator("td").nth(19)).to_have_text("25")  # Friday 19:00
    shot(page, "schedule-week")
    page.goto(base_url + "/")
    pair(page)
    tab(page, "schedule")
    expect(page.locator("#schedule-rows li")).to_have_count(2)
    expect(page.locator("#schedule-rows li").nth(1).locator(".s-time")).to_have_value("18:30")


def test_setting_changed_and_read_back(page: Any, base_url: str) -> None:
    pair(page)
    tab(page, "energy")
    expect(page.locator("#grid-max-range")).to_have_text("(allowed 6 to 400)")
    page.fill("#grid-max", "35")
    page.click("#grid-max-save")
    expect(page.locator("#grid-max-form .ok")).to_have_text("Saved: 35 A")
    page.select_option("#tariff", "OFF_PEAK")
    page.click("#tariff-form button[type=submit]")
    expect(page.locator("#tariff-form .ok")).to_have_text("Saved: OFF_PEAK")
    page.select_option("#tariff", "ON_PEAK")
    page.click("#tariff-form button[type=submit]")
    expect(page.locator("#tariff-form .ok")).to_have_text("Saved: ON_PEAK")
    # a fresh page (a new pairing) reads the values back from the charger
    page.goto(base_url + "/")
    pair(page)
    tab(page, "energy")
    expect(page.locator("#grid-max")).to_have_value("35")
    expect(page.locator("#tariff")).to_have_value("ON_PEAK")
    tab(page, "installation")
    expect(page.locator("#inst-status")).to_contain_text("35 A")
    page.click("#hwcheck")
    expect(page.locator("#hwcheck-summary")).to_contain_text("All checks passed")
    expect(page.locator("#hwcheck-table")).to_contain_text("connector 1: contactor")
    shot(page, "setting-read-back")


def test_bad_value_shows_its_error_next_to_the_control(page: Any, agent: Agent) -> None:
    pair(page)
    tab(page, "control")
    expect(page.locator("#station-max-range")).to_contain_text("allowed 0 to 32")
    # past the browser's own check (min/max), as a script or an old page would send it
    page.evaluate("document.querySelector('#station-max').removeAttribute('max')")
    page.fill("#station-max", "500")
    page.click("#station-max-save")
    err = page.locator("#station-max-form .error")
    expect(err).to_contain_text("Error: chargeStationMaxCurrent")
    expect(page.locator("#station-max")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#stop-form .error")).to_be_hidden()  # only next to its own control
    page.fill("#stop-tag", "NOSUCHTAG")
    page.click("#stop")
    expect(page.locator("#stop-form .error")).to_contain_text("Error:")
    shot(page, "bad-value-error")
    assert agent.connector()["limit"]["amps"] <= 32  # nothing changed


def test_update_uploaded_with_progress(page: Any, agent: Agent, tmp_path: Path) -> None:
    pair(page)
    agent.wait(lambda: agent.connector()["transaction"] is None, what="no session (unplugged)")
    tab(page, "updates")
    expect(page.locator("#upgrade-state")).to_contain_text("Running version")
    bad = tmp_path / "not-a-bundle.tar.gz"
    bad.write_bytes(b"\x1f\x8b" + b"garbage" * 100)
    page.set_input_files("#bundle", str(bad))
    page.click("#upload")
    expect(page.locator("#upload-form .error")).to_contain_text("nothing was installed")
    expect(page.locator("#install-step")).to_have_text("nothing installed")
    key = serialization.load_pem_private_key(
        (REPO / "certs" / "dev" / "vendor-signing.key").read_bytes(), None
    )
    src = tmp_path / "src"
    (src / "ncpa").mkdir(parents=True)
    (src / "ncpa" / "__init__.py").write_text('__version__ = "9.9.9"\n')
    (src / "ncpa" / "padding.bin").write_bytes(bytes(range(256)) * 2048)  # 512 kB: progress
    bundle = tmp_path / "ncpa-9.9.9.tar.gz"
    build_bundle(src, "9.9.9", key, bundle)  # type: ignore[arg-type]
    page.set_input_files("#bundle", str(bundle))
    page.click("#upload")
    expect(page.locator("#upload-pct")).to_have_text("100 %")
    expect(page.locator("#upload-result")).to_contain_text("version 9.9.9")
    shot(page, "update-uploaded")
    # installed, restarted, back on the new version
    expect(page.locator("#install-step")).to_have_text("done: running 9.9.9", timeout=40000)
    assert page.locator("#install-progress").get_attribute("value") == "3"
    expect(page.locator("#upgrade-state")).to_contain_text("9.9.9")
    shot(page, "update-installed")


def test_expired_token_leads_back_to_pairing(agent: Agent) -> None:
    page = EXPIRING.get("page")
    if page is None:
        pytest.skip("needs the page paired by test_pairing_with_a_qr_token")
    # the token of the first pairing lives 30 s ([local_api] token_ttl); the stream ends then
    left = 30 - (time.monotonic() - EXPIRING["paired_at"])
    expect(page.locator("#pairing")).to_be_visible(timeout=int(max(left, 0) * 1000) + 15000)
    expect(page.locator("#pairing-reason")).to_contain_text("expired")
    expect(page.locator("#app")).to_be_hidden()
    shot(page, "expired-back-to-pairing")
    page.close()
