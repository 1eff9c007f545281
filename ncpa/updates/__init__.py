"""Signed update bundles: format, signing tool, verification, release slots, rollback."""
