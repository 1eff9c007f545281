"""OCPP-J frames (OCPP 1.6 and 2.0.1, section 4 of the JSON spec): strict parsing and encoding.

A frame from the CSMS is untrusted. It is parsed as strict JSON (ncpa/strict_json.py,
the local API's parser: no NaN or Infinity, finite numbers, bounded nesting), and
checked for the shape of a Call ([2, id, action, {payload}]), CallResult ([3, id,
{payload}]) or CallError ([4, id, code, text, {details}]).
What fails is a `FrameError`: with the message id when one could be read (the caller may
then answer a CallError), without one when it could not (the caller drops the frame).

Frames we send are encoded with `allow_nan=False`, so no invalid JSON ever goes out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ncpa import strict_json

CALL, CALL_RESULT, CALL_ERROR = 2, 3, 4
MAX_ID_LENGTH = 36  # the message id is a string of at most 36 characters
MAX_DEPTH = 24  # deeper than any OCPP payload; DataTransfer data included

# the id of a frame that could not be parsed, when it starts like a Call: "[2, "id", ..."
_ID_PREFIX = re.compile(r'^\s*\[\s*2\s*,\s*"([^"\\]{1,36})"')


class FrameError(Exception):
    """A frame that is not valid OCPP-J; `code` is the neutral error kind.

    Kinds: "format" (not JSON / too deep / bad payload type), "protocol" (wrong element
    count or types), "type" (a value of the wrong type), "message_type" (unknown type id).
    """

    def __init__(self, kind: str, cause: str, unique_id: str | None = None) -> None:
        super().__init__(cause)
        self.kind = kind
        self.cause = cause
        self.unique_id = unique_id


@dataclass(frozen=True)
class Frame:
    type_id: int
    unique_id: str
    action: str = ""  # Call only
    payload: Any = None  # Call and CallResult: the payload; CallError: the details
    error_code: str = ""  # CallError only
    error_text: str = ""


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH


def parse(raw: str | bytes) -> Frame:
    """One frame from the CSMS, or FrameError."""
    if not isinstance(raw, str):
        raise FrameError("format", "binary frame: OCPP-J uses text frames only")
    try:
        msg = strict_json.loads(raw, max_depth=MAX_DEPTH)
    except strict_json.StrictJsonError as e:
        match = _ID_PREFIX.match(raw[:64])
        uid = match.group(1) if match else None
        raise FrameError("format", f"not valid JSON: {e}", uid) from None
    if not isinstance(msg, list) or not msg:
        raise FrameError("protocol", "a frame is a JSON array")
    type_id = msg[0]
    unique_id = msg[1] if len(msg) > 1 else None
    if not _valid_id(unique_id):
        # no usable id: nothing can be answered (a CallResult to it would be invalid)
        raise FrameError("protocol", "message id must be a string of 1..36 characters")
    assert isinstance(unique_id, str)
    if type(type_id) is not int:
        raise FrameError("protocol", "message type id must be an integer", unique_id)
    if type_id == CALL:
        if len(msg) != 4:
            raise FrameError("protocol", "a Call has 4 elements", unique_id)
        _, _, action, payload = msg
        if not isinstance(action, str) or not action or len(action) > 64:
            raise FrameError("protocol", "the action must be a string", unique_id)
        if not isinstance(payload, dict):
            raise FrameError("type", "the payload must be a JSON object", unique_id)
        return Frame(CALL, unique_id, action, payload)
    if type_id == CALL_RESULT:
        if len(msg) != 3:
            raise FrameError("protocol", "a CallResult has 3 elements", unique_id)
        return Frame(CALL_RESULT, unique_id, payload=msg[2])
    if type_id == CALL_ERROR:
        if len(msg) != 5:
            raise FrameError("protocol", "a CallError has 5 elements", unique_id)
        _, _, code, text, details = msg
        return Frame(CALL_ERROR, unique_id, "", details, str(code)[:64], str(text)[:255])
    raise FrameError("message_type", f"unknown message type {type_id!r}", unique_id)


def dumps(msg: list[Any]) -> str:
    """A frame we send: compact, strict JSON (raises ValueError on NaN/Infinity)."""
    return json.dumps(msg, separators=(",", ":"), allow_nan=False, ensure_ascii=False)


def call(unique_id: str, action: str, payload: dict[str, Any]) -> str:
    return dumps([CALL, unique_id, action, payload])


def call_result(unique_id: str, payload: dict[str, Any]) -> str:
    return dumps([CALL_RESULT, unique_id, payload])


def call_error(unique_id: str, code: str, text: str, details: dict[str, Any] | None = None) -> str:
    return dumps([CALL_ERROR, unique_id, code, text[:255], details or {}])
