"""Errors that any HAL backend may raise."""


class DeviceError(Exception):
    """A device did not answer, answered garbage, or refused a command."""


class DeviceTimeout(DeviceError):
    """A device did not answer in time."""
