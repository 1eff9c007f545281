"""Typed wrappers over the ocpp library's untyped `on` decorator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from ocpp.routing import on as _on

F = TypeVar("F", bound=Callable[..., Any])


def on(action: str) -> Callable[[F], F]:
    """Mark a method as the handler of an incoming OCPP call (`action` by name)."""
    return cast(Callable[[F], F], _on(action))
