"""N Diagnostics under OCPP 2.0.1 against a real v201 CSMS: GetLog uploaded to a loopback
HTTP server, LogStatusNotification, a newer request cancelling the one under way."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web
from ocpp.v201 import call

from tests.ocpp.conftest import AgentFactory
from tests.ocpp.csms201 import Csms201
from tests.ocpp.v16.test_firmware_security import Files, files  # noqa: F401 (fixture)
from tests.ocpp.v201.stories import online


def log_statuses(csms: Csms201) -> list[tuple[str, int | None]]:
    return [
        (m.payload["status"], m.payload.get("requestId"))
        for m in csms.calls("LogStatusNotification")
    ]


async def uploaded(csms: Csms201, request_id: int) -> None:
    await csms.wait_for(
        "LogStatusNotification",
        pred=lambda m: m.payload["status"] == "Uploaded" and m.payload["requestId"] == request_id,
    )


async def test_security_log_uploaded(
    csms: Csms201,
    files: Files,  # noqa: F811
    agent_factory: AgentFactory,
) -> None:
    agent = await online(csms, agent_factory)
    await agent.client.security.event("SettingSystemTime", "clock set by the installer")
    await agent.client.security.event("InvalidCentralSystemCertificate", "self-signed")
    res = await csms.call(
        call.GetLog(
            log={"remote_location": f"{files.url}/upload"}, log_type="SecurityLog", request_id=5
        )
    )
    assert res.status == "Accepted" and res.filename.endswith(".json")
    await uploaded(csms, 5)
    assert log_statuses(csms) == [("Uploading", 5), ("Uploaded", 5)]
    body = json.loads(files.uploads[res.filename])
    kinds = [e["type"] for e in body["security_log"]]
    assert "StartupOfTheDevice" in kinds and "SettingSystemTime" in kinds
    # in 2.0.1's names, as its SecurityEventNotification has them
    assert "InvalidCsmsCertificate" in kinds and "InvalidCentralSystemCertificate" not in kinds
    assert "journal" not in body  # a security log holds the security log only


async def test_diagnostics_log_with_a_time_window(
    csms: Csms201,
    files: Files,  # noqa: F811
    agent_factory: AgentFactory,
) -> None:
    await online(csms, agent_factory)
    res = await csms.call(
        call.GetLog(
            log={
                "remote_location": f"{files.url}/upload",
                "oldest_timestamp": "2000-01-01T00:00:00Z",
                "latest_timestamp": "2001-01-01T00:00:00Z",
            },
            log_type="DiagnosticsLog",
            request_id=6,
        )
    )
    assert res.status == "Accepted"
    await uploaded(csms, 6)
    body = json.loads(files.uploads[res.filename])
    assert body["journal"] == [] and body["security_log"] == []  # nothing in that window
    assert "configuration" in body and "AuthorizationKey" not in json.dumps(body)


async def test_a_newer_request_cancels_the_upload_under_way(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    release = asyncio.Event()
    received: list[str] = []

    async def slow(request: web.Request) -> web.Response:
        reader = await request.multipart()
        part = await reader.next()
        received.append(part.filename)  # type: ignore[union-attr]
        await release.wait()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/upload", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        agent = await online(csms, agent_factory)
        url = f"http://127.0.0.1:{port}/upload"
        first = await csms.call(
            call.GetLog(log={"remote_location": url}, log_type="DiagnosticsLog", request_id=1)
        )
        assert first.status == "Accepted"
        await csms.wait_for("LogStatusNotification")
        second = await csms.call(
            call.GetLog(log={"remote_location": url}, log_type="SecurityLog", request_id=2)
        )
        assert second.status == "AcceptedCanceled"
        release.set()
        await uploaded(csms, 2)
        assert ("Uploaded", 1) not in log_statuses(csms)
        res = await csms.call(call.TriggerMessage(requested_message="LogStatusNotification"))
        assert res.status == "Accepted"
        await csms.wait_for("LogStatusNotification", pred=lambda m: m.payload["status"] == "Idle")
        assert csms.calls("LogStatusNotification")[-1].payload == {"status": "Idle"}
        assert agent.client.diagnostics.log_status == "Idle"
    finally:
        await runner.cleanup()


async def test_unusable_location_and_failed_upload(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    await online(csms, agent_factory)
    bad = await csms.call(
        call.GetLog(log={"remote_location": "gopher://x/"}, log_type="SecurityLog", request_id=3)
    )
    assert bad.status == "Rejected" and bad.status_info["reason_code"] == "InvalidURL"
    res = await csms.call(
        call.GetLog(
            log={"remote_location": "http://127.0.0.1:1/upload"},
            log_type="SecurityLog",
            request_id=4,
            retries=1,
            retry_interval=0,
        )
    )
    assert res.status == "Accepted"
    await csms.wait_for(
        "LogStatusNotification", pred=lambda m: m.payload["status"] == "UploadFailure"
    )
    assert log_statuses(csms) == [("Uploading", 4), ("UploadFailure", 4)]
