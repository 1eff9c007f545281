"""NCPA: the charge-point agent."""

__version__ = "0.1.0"
