"""Receive one file of a multipart upload: streamed to disk, size-limited, hashed on the way."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from ncpa.api.errors import ApiError, bad_param

CHUNK = 64 * 1024
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the file


@dataclass(frozen=True)
class Upload:
    path: Path
    size: int
    sha256: str
    filename: str
    content_type: str
    encoding: str


def _too_large(max_bytes: int) -> ApiError:
    return ApiError(413, f"data: larger than {max_bytes} bytes")


def _finish(f: BinaryIO) -> None:
    f.flush()
    os.fsync(f.fileno())
    f.close()


async def _chunk(part: BodyPartReader) -> bytes:
    try:
        return await part.read_chunk(CHUNK)
    except (ValueError, HttpProcessingError) as e:
        raise bad_param("data", f"malformed multipart body ({e})") from e


async def receive_file(request: web.Request, field: str, folder: Path, max_bytes: int) -> Upload:
    """Stream the part named `field` into folder/<random>.part. Raises ApiError (400/413)."""
    if (
        request.content_length is not None
        and request.content_length > max_bytes + MULTIPART_OVERHEAD
    ):
        raise _too_large(max_bytes)  # refuse before reading a byte
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError, KeyError) as e:
        raise bad_param(field, "send multipart/form-data with a file field") from e
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    while True:
        try:
            part = await reader.next()
        except (ValueError, HttpProcessingError) as e:
            raise bad_param(field, f"malformed multipart body ({e})") from e
        if part is None:
            raise bad_param(field, "required (multipart file field)")
        if isinstance(part, BodyPartReader) and part.name == field:
            break
        if isinstance(part, BodyPartReader):
            await part.release()  # another field: skipped
    path = folder / f"{uuid.uuid4().hex}.part"
    digest = hashlib.sha256()
    size = 0
    f = await asyncio.to_thread(open, path, "xb")
    try:
        while chunk := await _chunk(part):
            size += len(chunk)
            if size > max_bytes:
                raise _too_large(max_bytes)
            digest.update(chunk)
            await asyncio.to_thread(f.write, chunk)
        await asyncio.to_thread(_finish, f)
    except BaseException:
        f.close()
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    if size == 0:
        path.unlink()
        raise bad_param(field, "the file is empty")
    return Upload(
        path=path,
        size=size,
        sha256=digest.hexdigest(),
        filename=part.filename or "",
        content_type=part.headers.get("Content-Type", "application/octet-stream"),
        encoding=part.headers.get("Content-Transfer-Encoding", "binary"),
    )
