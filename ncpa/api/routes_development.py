"""Developer mode only (the simulator): /development/* and /firmwares*.

In production these routes are not registered, so each answers 404. All of
them need a developer access token (a QR label with aud=developer).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ncpa.api.envelope import load_secret
from ncpa.api.errors import ApiError, bad_param
from ncpa.api.params import API_ID_TAG_LEN, json_body, query_str, require_str
from ncpa.api.qr_issue import Wifi, qr_token
from ncpa.api.routes import Route, no_content, ok, state
from ncpa.api.routes_whitelist import add_accepted
from ncpa.api.upload import receive_file
from ncpa.charging.authorization import CARD_STATUSES, check_id_tag

FILENAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
REGISTRATION_STATUSES = ("SUCCESS", "FAILURE", "TIMEOUT")
QR_ROLES = ("operator", "installer")
MAX_KEY_BYTES = 16 * 1024


async def post_card(request: web.Request) -> web.Response:
    body = await json_body(request, "createCardRequest")
    token = body.get("token") if isinstance(body, dict) else None
    if not isinstance(token, str):
        raise bad_param("createCardRequest", 'expected {"token": "<card uid>"}')
    try:
        check_id_tag(token, API_ID_TAG_LEN)
    except ValueError as e:
        raise bad_param("createCardRequest", f"token: {e}") from e
    result = await add_accepted(request, token)
    return ok(result["status"] == "SUCCESS")


async def post_registration_response(request: web.Request) -> web.Response:
    body = await json_body(request, "cardRegistrationResponse")
    if not isinstance(body, dict):
        raise bad_param("cardRegistrationResponse", "must be a CardRegistration object")
    status, message = body.get("status"), body.get("statusMessage")
    if status not in REGISTRATION_STATUSES:
        raise bad_param("cardRegistrationResponse", f"status: one of {REGISTRATION_STATUSES}")
    if not isinstance(message, str):
        raise bad_param("cardRegistrationResponse", "statusMessage: a string is required")
    answer: dict[str, Any] = {"status": status, "statusMessage": message}
    card = body.get("card")
    if card is not None:
        token = card.get("token") if isinstance(card, dict) else None
        status_ = card.get("status") if isinstance(card, dict) else None
        if not isinstance(token, str) or status_ not in CARD_STATUSES:
            raise bad_param(
                "cardRegistrationResponse", f"card: {{token, status: one of {CARD_STATUSES}}}"
            )
        answer["card"] = {"token": token, "status": status_}
    state(request).card_registration_override = answer
    return no_content()


async def post_qr_gen(request: web.Request) -> web.Response:
    st = state(request)
    cp_id = require_str(request, "chargePointId", max_len=64)
    ssid = require_str(request, "ssid", max_len=32)
    psk = require_str(request, "psk", max_len=64)
    secret_hex = query_str(request, "sharedSecret", required=False)
    try:
        secret = load_secret(
            secret_hex if secret_hex is not None else st.settings.shared_secret_path().read_text()
        )
    except ValueError as e:
        raise bad_param("sharedSecret", str(e)) from e
    key_pem: bytes | None = None
    if request.content_type.startswith("multipart/"):
        try:
            form = await request.post()
        except (ValueError, HttpProcessingError) as e:
            raise bad_param("privCert", f"malformed multipart body ({e})") from e
        field = form.get("privCert")
        if field is not None:
            if isinstance(field, str) or not hasattr(field, "file"):
                raise bad_param("privCert", "must be a file (PEM private key)")
            key_pem = field.file.read(MAX_KEY_BYTES + 1)
            if len(key_pem) > MAX_KEY_BYTES:
                raise bad_param("privCert", "larger than a key")
    if key_pem is None:
        key_pem = await asyncio.to_thread((st.settings.keys_path / "qr-issuer.key").read_bytes)
    roles = []
    for role in QR_ROLES:
        try:
            token = qr_token(
                key_pem, secret, cp_id, role, issuer=st.settings.issuer[0], wifi=Wifi(ssid, psk)
            )
        except ValueError as e:
            raise bad_param("privCert", str(e)) from e
        roles.append({"role": role, "token": token})
    return ok({"ssid": ssid, "psk": psk, "roles": roles})


async def get_upgrade_contents(request: web.Request) -> web.Response:
    last = state(request).updates.last
    if last is None:
        return ok([])
    return ok([{"path": f.path, "size": f.size, "sha256": f.sha256} for f in last.manifest.files])


async def get_upgrades(request: web.Request) -> web.Response:
    updates = state(request).updates
    return ok(await asyncio.to_thread(updates.stored))


async def delete_upgrades(request: web.Request) -> web.Response:
    updates = state(request).updates
    if updates.busy:
        raise ApiError(409, "an update is being installed")
    n = await asyncio.to_thread(updates.delete_stored)
    removed = await asyncio.to_thread(updates.releases.remove_unused)
    return ok(f"deleted {n} bundle(s) and {len(removed)} unused release(s)")


# -- firmware files (EV charge controller images, for the developer's bench) -----------------


def _firmware_dir(request: web.Request) -> Path:
    return state(request).settings.data_dir / "firmwares"


def _firmware_files(folder: Path) -> list[Path]:
    if not folder.exists():
        return []
    files = [p for p in folder.iterdir() if p.is_file() and FILENAME_RE.match(p.name)]
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))


def _file_json(p: Path) -> dict[str, Any]:
    st = p.stat()
    return {"filename": p.name, "size": st.st_size, "uploaded": int(st.st_mtime)}


async def post_firmware(request: web.Request) -> web.Response:
    folder = _firmware_dir(request)
    upload = await receive_file(request, "data", folder, state(request).settings.max_upload_bytes)
    name = Path(upload.filename).name if upload.filename else ""
    if not FILENAME_RE.match(name):
        upload.path.unlink(missing_ok=True)
        raise bad_param("data", "file name: letters, digits and . _ - (at most 128)")
    target = folder / name
    upload.path.replace(target)
    return ok({**_file_json(target), "sha256": upload.sha256})


async def get_firmwares(request: web.Request) -> web.Response:
    files = await asyncio.to_thread(_firmware_files, _firmware_dir(request))
    return ok([_file_json(p) for p in files])


async def delete_firmwares(request: web.Request) -> web.Response:
    files = await asyncio.to_thread(_firmware_files, _firmware_dir(request))
    for p in files:
        p.unlink(missing_ok=True)
    return ok(f"deleted {len(files)} file(s)")


async def get_latest_firmware(request: web.Request) -> web.StreamResponse:
    files = await asyncio.to_thread(_firmware_files, _firmware_dir(request))
    if not files:
        raise ApiError(404, "no firmware uploaded")
    return web.Response(status=302, headers={"Location": f"/firmwares/{files[-1].name}"})


async def get_firmware(request: web.Request) -> web.StreamResponse:
    name = request.match_info["filename"]
    if not FILENAME_RE.match(name):
        raise bad_param("filename", "letters, digits and . _ - only")
    path = _firmware_dir(request) / name
    if not path.is_file():
        raise ApiError(404, f"no firmware {name}")
    return web.FileResponse(path, headers={"Content-Type": "application/octet-stream"})


ROUTES = [
    Route("POST", "/development/whitelist/cards", post_card, "developer", "optional"),
    Route(
        "POST",
        "/development/card/registration-response",
        post_registration_response,
        "developer",
        "optional",
    ),
    Route("POST", "/development/qr-gen", post_qr_gen, "developer", "optional"),
    Route("GET", "/development/upgrade-contents", get_upgrade_contents, "developer", "optional"),
    Route("GET", "/development/upgrade", get_upgrades, "developer", "optional"),
    Route("DELETE", "/development/upgrade", delete_upgrades, "developer", "optional"),
    Route("GET", "/firmwares/latest", get_latest_firmware, "developer", "optional"),
    Route("GET", "/firmwares/{filename}", get_firmware, "developer", "optional"),
    Route("POST", "/firmwares", post_firmware, "developer", "optional"),
    Route("GET", "/firmwares", get_firmwares, "developer", "optional"),
    Route("DELETE", "/firmwares", delete_firmwares, "developer", "optional"),
]
