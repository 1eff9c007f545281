"""JSON as RFC 8259 has it, from peers we do not trust: bounded nesting, finite numbers.

The standard parser recurses once per nesting level (3,000 levels: RecursionError),
accepts NaN and Infinity (not JSON), turns 1e400 into inf, and raises ValueError for an
integer of more than 4,300 digits. `loads` refuses each of these with StrictJsonError
(a ValueError) before or while parsing, so that a caller has one error to turn into a 400.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 32  # far above any document of the local API, far below the recursion limit
MAX_NUMBER_LEN = 40  # digits of one number: 2**128 has 39

# a string (escapes included) or a bracket: brackets inside strings do not count
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class StrictJsonError(ValueError):
    """Not JSON, or JSON this agent does not take; the message says which."""


def nesting_depth(text: str) -> int:
    depth = deepest = 0
    for m in _TOKENS.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


def _constant(name: str) -> Any:
    raise StrictJsonError(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if len(text) > MAX_NUMBER_LEN or not math.isfinite(value):
        raise StrictJsonError(f"number {text[:20]}... out of range")
    return value


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_LEN:
        raise StrictJsonError(f"number {text[:20]}... out of range")
    return int(text)


def loads(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse `data`; raises StrictJsonError for anything but bounded, finite JSON."""
    try:
        text = data.decode() if isinstance(data, bytes) else data
    except UnicodeDecodeError as e:
        raise StrictJsonError("not UTF-8") from e
    if nesting_depth(text) > max_depth:
        raise StrictJsonError(f"nested deeper than {max_depth} levels")
    try:
        return json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except StrictJsonError:
        raise
    except (json.JSONDecodeError, RecursionError, ValueError) as e:
        raise StrictJsonError("not JSON") from e
