"""The charger's own web page: GET / and GET /static/{name}, from ncpa/web/static/.

The files ship in the package (no build step, no CDN) and are read once when the app
is made. Every answer carries a strict Content-Security-Policy: scripts, styles and
connections to this origin only, no inline script or style, no framing, and Trusted
Types (the page builds its DOM from text, never from HTML strings).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from ncpa.api.errors import ApiError
from ncpa.api.routes import Route

STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"
TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
        "trusted-types 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    content_type: str
    etag: str


def load_static(folder: Path = STATIC_DIR) -> dict[str, StaticFile]:
    files: dict[str, StaticFile] = {}
    for p in sorted(folder.iterdir()) if folder.is_dir() else []:
        ctype = TYPES.get(p.suffix)
        if p.is_file() and ctype is not None:
            body = p.read_bytes()
            files[p.name] = StaticFile(
                body, ctype, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            )
    return files


FILES = web.AppKey("static_files", dict)


def _serve(request: web.Request, name: str) -> web.Response:
    f: StaticFile | None = request.app[FILES].get(name)
    if f is None:
        raise ApiError(404, f"no such file: {name}")
    headers = {**HEADERS, "ETag": f.etag}
    if request.headers.get("If-None-Match") == f.etag:
        return web.Response(status=304, headers=headers)
    charset = "utf-8"
    return web.Response(body=f.body, content_type=f.content_type, charset=charset, headers=headers)


async def get_index(request: web.Request) -> web.Response:
    return _serve(request, "index.html")


async def get_static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name == "index.html":
        raise ApiError(404, "the page is served at /")
    return _serve(request, name)


ROUTES = [
    Route("GET", "/", get_index, None),
    Route("GET", "/static/{name}", get_static, None),
]
