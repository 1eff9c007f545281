"""OCPP 2.0.1 at the RPC level: schemas, message classes, error codes (OCPP-J 2.0.1 §4.3)."""

from __future__ import annotations

from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action

from ncpa.ocpp.rpc import Dialect

V201 = Dialect(
    version="2.0.1",
    call=call,
    call_result=call_result,
    actions=frozenset(a.value for a in Action),
    codes={
        "format": "FormatViolation",
        "protocol": "ProtocolError",
        "type": "TypeConstraintViolation",
        "property": "PropertyConstraintViolation",
        "occurrence": "OccurrenceConstraintViolation",
        "message_type": "MessageTypeNotSupported",
        "not_implemented": "NotImplemented",
        "not_supported": "NotSupported",
        "security": "SecurityError",
        "internal": "InternalError",
        "generic": "GenericError",
    },
)
