"""Every error of the local API is JSON: {"error": "<Code>", "message": "<human text>"}."""

from __future__ import annotations

from aiohttp import web

CODES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "PayloadTooLarge",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or CODES.get(status, "Error")
        self.message = message
        self.headers = headers or {}


def bad_param(name: str, why: str) -> ApiError:
    """400 that names the parameter, as the notes ask."""
    return ApiError(400, f"{name}: {why}", "InvalidParameter")


def error_response(
    status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"error": code or CODES.get(status, "Error"), "message": message},
        status=status,
        headers=headers,
    )
