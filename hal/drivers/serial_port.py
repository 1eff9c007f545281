"""Opening a serial port as asyncio streams (pyserial-asyncio-fast), with one clear error."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import serial
import serial_asyncio_fast

from hal.errors import DeviceError


async def open_serial(
    port: str, baudrate: int, parity: str = "N", stopbits: int = 1
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open `port` raw (8 data bits); raises DeviceError naming the port when it cannot.

    The port is locked (flock): two programs on one line garble each other's frames,
    so `ncpa hw-check` run next to the agent gets a clear "in use" instead.
    """
    try:
        return await serial_asyncio_fast.open_serial_connection(
            url=port, baudrate=baudrate, parity=parity, stopbits=stopbits, bytesize=8,
            exclusive=True,
        )  # fmt: skip
    except (OSError, serial.SerialException, ValueError) as e:
        hint = " (in use by another program: is the ncpa service running?)"
        busy = "exclusively lock" in str(e)
        raise DeviceError(f"cannot open serial port {port}: {e}{hint if busy else ''}") from e


async def close_writer(writer: asyncio.StreamWriter | None) -> None:
    if writer is None:
        return
    writer.close()
    # the port may be gone already (unplugged adapter): nothing left to release then
    with contextlib.suppress(OSError, TimeoutError, serial.SerialException):
        async with asyncio.timeout(1.0):
            await writer.wait_closed()


async def reopen_serial(
    port: str, baudrate: int, delay: float, stop: Callable[[], bool]
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
    """Try to open `port` again every `delay` seconds (an unplugged USB adapter, a reset
    board) until it opens, or until `stop()` says the driver is closing (then None)."""
    while not stop():
        await asyncio.sleep(delay)
        with contextlib.suppress(DeviceError):
            return await open_serial(port, baudrate)
    return None
