"""Downloads (firmware) and uploads (diagnostics, logs) with retries, over HTTP(S) or FTP."""

from __future__ import annotations

import asyncio
import ftplib
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import unquote, urlparse

import aiohttp

from ncpa.log import get_logger

log = get_logger(__name__)

TIMEOUT = aiohttp.ClientTimeout(total=300, sock_connect=20)
SCHEMES = ("http", "https", "ftp")  # what get() and put() can do


def location_problem(url: str) -> str | None:
    """Why `url` cannot be a download or upload location (None: it can)."""
    try:
        parts = urlparse(url)
    except ValueError:
        return "not a URL"
    if parts.scheme not in SCHEMES:
        return f"scheme must be one of {', '.join(SCHEMES)}"
    if not parts.hostname:
        return "no host"
    return None


class TransferError(Exception):
    pass


async def download(url: str, dest: Path) -> None:
    """Fetch `url` into `dest` (written to a temporary name first); raises TransferError."""
    scheme = urlparse(url).scheme
    tmp = dest.with_suffix(dest.suffix + ".part")
    try:
        if scheme in ("http", "https"):
            async with (
                aiohttp.ClientSession(timeout=TIMEOUT) as http,
                http.get(url) as resp,
            ):
                if resp.status != 200:
                    raise TransferError(f"HTTP {resp.status}")
                data = await resp.read()
            await asyncio.to_thread(tmp.write_bytes, data)
        elif scheme == "ftp":
            await asyncio.to_thread(_ftp_get, url, tmp)
        else:
            raise TransferError(f"unsupported scheme {scheme!r}")
        await asyncio.to_thread(tmp.replace, dest)
    except (aiohttp.ClientError, OSError, ftplib.Error, TimeoutError) as e:
        raise TransferError(f"{type(e).__name__}: {e}") from e


async def upload(url: str, path: Path) -> None:
    """Send `path` to `url`: HTTP(S) POST multipart (field "file"), or FTP STOR."""
    scheme = urlparse(url).scheme
    try:
        if scheme in ("http", "https"):
            data = aiohttp.FormData()
            data.add_field("file", await asyncio.to_thread(path.read_bytes), filename=path.name)
            async with (
                aiohttp.ClientSession(timeout=TIMEOUT) as http,
                http.post(url, data=data) as resp,
            ):
                if resp.status >= 300:
                    raise TransferError(f"HTTP {resp.status}")
        elif scheme == "ftp":
            await asyncio.to_thread(_ftp_put, url, path)
        else:
            raise TransferError(f"unsupported scheme {scheme!r}")
    except (aiohttp.ClientError, OSError, ftplib.Error, TimeoutError) as e:
        raise TransferError(f"{type(e).__name__}: {e}") from e


def _ftp(url: str) -> tuple[ftplib.FTP, str]:
    u = urlparse(url)
    ftp = ftplib.FTP()
    ftp.connect(u.hostname or "", u.port or 21, timeout=60)
    ftp.login(unquote(u.username or "anonymous"), unquote(u.password or ""))
    return ftp, unquote(u.path)


def _ftp_get(url: str, dest: Path) -> None:
    ftp, path = _ftp(url)
    with ftp, dest.open("wb") as f:
        ftp.retrbinary(f"RETR {path}", f.write)


def _ftp_put(url: str, src: Path) -> None:
    ftp, path = _ftp(url)
    target = path.rstrip("/") + "/" + src.name if path.endswith("/") or not path else path
    with ftp, src.open("rb") as f:
        ftp.storbinary(f"STOR {target}", f)


async def with_retries(
    what: str, attempt: Callable[[], Awaitable[None]], retries: int, interval: float
) -> bool:
    """Run `attempt()` up to 1 + retries times; True on success."""
    for n in range(1 + max(0, retries)):
        try:
            await attempt()
            return True
        except TransferError as e:
            log.warning("ocpp.transfer.failed", what=what, attempt=n + 1, error=str(e))
            if n < retries:
                await asyncio.sleep(interval)
    return False
