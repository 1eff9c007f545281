"""What every 2.0.1 functional block can use (ncpa/ocpp/handler_base.py)."""

from __future__ import annotations

from ncpa.ocpp.handler_base import HandlerBase as Block

__all__ = ["Block"]
