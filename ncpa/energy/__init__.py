"""Limits on the charging current: every source named, the effective one the minimum."""
