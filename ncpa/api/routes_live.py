"""GET /events: the live event stream (server-sent events) for the web page.

Authenticated like every other route, with the `Authorization: Bearer` header: the page
reads the stream with fetch() (EventSource cannot send a header, and the access token
must never ride in a URL). The stream starts with a `snapshot` (every connector, the
session history for the chart, the CSMS link), then sends each change as it happens,
a comment every 15 s to keep proxies from closing it, and `expired` when the access
token runs out (the stream then ends: a stale token never keeps a stream open).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web

from ncpa.api.errors import ApiError
from ncpa.api.page_services import page
from ncpa.api.routes import Route, claims

MAX_STREAMS = 8
KEEPALIVE = 15.0


def frame(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n".encode()


def _gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def get_events(request: web.Request) -> web.StreamResponse:
    hub = page(request).live
    if hub.subscribers >= MAX_STREAMS:
        raise ApiError(503, f"at most {MAX_STREAMS} live streams at once; close another page")
    expires_at = claims(request).expires_at
    resp = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    queue = hub.subscribe()
    try:
        await resp.prepare(request)
        await resp.write(frame(hub.snapshot()))
        keepalive_at = time.monotonic() + KEEPALIVE
        while not _gone(request):
            left = expires_at - time.time()
            if left <= 0:
                await resp.write(frame({"type": "expired"}))
                break
            try:
                # wake up at least every second: a page that went away frees its place soon
                async with asyncio.timeout(min(1.0, left)):
                    event = await queue.get()
            except TimeoutError:
                if time.monotonic() >= keepalive_at:
                    await resp.write(b": keepalive\n\n")
                    keepalive_at = time.monotonic() + KEEPALIVE
                continue
            await resp.write(frame(hub.snapshot() if event["type"] == "resync" else event))
    except (ConnectionResetError, ConnectionError):
        pass  # the page went away
    finally:
        hub.unsubscribe(queue)
    return resp


ROUTES = [Route("GET", "/events", get_events, "operator")]
