"""What every 1.6 handler mixin can use (ncpa/ocpp/handler_base.py)."""

from __future__ import annotations

from ncpa.ocpp.handler_base import HandlerBase as Handlers

__all__ = ["Handlers"]
