"""Schema checks of OCPP payloads, with the formats the ocpp library leaves unchecked.

The ocpp library ships the official JSON schemas of 1.6 and 2.0.1 but validates without
a format checker, so `"validFrom": "2026-12-01"` or a GetDiagnostics location of
`not a uri` pass. Calls from the CSMS are checked here with `date-time` (RFC 3339: a full
date and time; a missing offset is taken as UTC, as some central systems send it) and
`uri` (an absolute URI) enforced. Answers to our calls are
checked without formats: a CSMS that sends its clock without a zone must still work.

A failed check is an OCPPError whose class names the neutral kind of the failure; the
RPC endpoint maps it onto the error code of the version in use.
"""

from __future__ import annotations

import decimal
import json
import re
from typing import Any

from jsonschema import Draft4Validator, FormatChecker  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError as SchemaError  # type: ignore[import-untyped]
from ocpp.exceptions import (
    FormatViolationError,
    NotImplementedError,
    OCPPError,
    PropertyConstraintViolationError,
    ProtocolError,
    TypeConstraintViolationError,
)
from ocpp.messages import get_validator

RFC3339 = re.compile(
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)"
    r"(\.\d{1,9})?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)?$"
)
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s\x00-\x1f\x7f]+$")

FORMATS = FormatChecker(formats=())


def _date_time(value: object) -> bool:
    return not isinstance(value, str) or bool(RFC3339.match(value))


def _uri(value: object) -> bool:
    return not isinstance(value, str) or bool(_URI.match(value))


FORMATS.checks("date-time")(_date_time)
FORMATS.checks("uri")(_uri)


# 1.6 schemas with `multipleOf: 0.1`: validated with decimals (binary floats fail it)
_DECIMAL_CALLS = {("1.6", "SetChargingProfile"), ("1.6", "RemoteStartTransaction")}
_DECIMAL_RESULTS = {("1.6", "GetCompositeSchedule")}

_validators: dict[tuple[int, str, str, bool], Draft4Validator] = {}


def _validator(message_type: int, action: str, version: str, formats: bool) -> Draft4Validator:
    key = (message_type, action, version, formats)
    cached = _validators.get(key)
    if cached is not None:
        return cached
    decimals = _needs_decimals(message_type, action, version)
    try:
        base = get_validator(
            message_type, action, version, parse_float=decimal.Decimal if decimals else float
        )
    except (OSError, ValueError) as e:
        raise NotImplementedError(details={"cause": f"no schema for {action}"}) from e
    validator = Draft4Validator(base.schema, format_checker=FORMATS if formats else None)
    _validators[key] = validator
    return validator


def _needs_decimals(message_type: int, action: str, version: str) -> bool:
    """Whether the message's schema has multipleOf checks that floats get wrong."""
    return (version, action) in (_DECIMAL_CALLS if message_type == 2 else _DECIMAL_RESULTS)


def _with_decimals(payload: Any) -> Any:
    return json.loads(json.dumps(payload), parse_float=decimal.Decimal)


def check_call(action: str, version: str, payload: dict[str, Any]) -> None:
    """A Call from the CSMS against its schema, formats included."""
    _check(2, action, version, payload, formats=True)


def check_result(action: str, version: str, payload: Any) -> None:
    """A CallResult from the CSMS (answer to our call), formats not enforced."""
    _check(3, action, version, payload, formats=False)


def check_own_call(action: str, version: str, payload: dict[str, Any]) -> None:
    """One of our calls, before it goes out."""
    _check(2, action, version, payload, formats=True)


def check_own_result(action: str, version: str, payload: dict[str, Any]) -> None:
    """Our answer to a Call, before it goes out (a bug of ours must not reach the CSMS)."""
    _check(3, action, version, payload, formats=True)


def _check(message_type: int, action: str, version: str, payload: Any, formats: bool) -> None:
    validator = _validator(message_type, action, version, formats)
    data = _with_decimals(payload) if _needs_decimals(message_type, action, version) else payload
    error = next(iter(sorted(validator.iter_errors(data), key=lambda e: e.path)), None)
    if error is not None:
        raise _as_ocpp_error(error)


def _as_ocpp_error(e: SchemaError) -> OCPPError:
    where = "/".join(str(p) for p in e.absolute_path) or "payload"
    cause = f"{where}: {e.message}"[:255]
    details = {"cause": cause}
    if e.validator == "required":
        return ProtocolError(description="required field missing", details=details)
    if e.validator in ("type", "maxLength", "minLength"):
        return TypeConstraintViolationError(description="wrong data type", details=details)
    if e.validator in ("enum", "format", "minimum", "maximum", "multipleOf", "pattern"):
        return PropertyConstraintViolationError(description="invalid value", details=details)
    return FormatViolationError(description="payload not well formed", details=details)
