"""OCPP 1.6J at the RPC level: schemas, message classes, error codes (OCPP-J 1.6 section 4.2.3)."""

from __future__ import annotations

from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

from ncpa.ocpp.rpc import Dialect

V16 = Dialect(
    version="1.6",
    call=call,
    call_result=call_result,
    actions=frozenset(a.value for a in Action),
    codes={
        "format": "FormationViolation",
        "protocol": "ProtocolError",
        "type": "TypeConstraintViolation",
        "property": "PropertyConstraintViolation",
        "occurrence": "OccurenceConstraintViolation",
        "message_type": "ProtocolError",
        "not_implemented": "NotImplemented",
        "not_supported": "NotSupported",
        "security": "SecurityError",
        "internal": "InternalError",
        "generic": "GenericError",
    },
)
