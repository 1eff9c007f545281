"""systemd service notifications (Type=notify) and the watchdog.

The protocol is one datagram to $NOTIFY_SOCKET; a dozen lines do not justify
a dependency (the sdnotify package has had no release since 2017).
"""

from __future__ import annotations

import asyncio
import os
import socket

from ncpa.log import get_logger

log = get_logger(__name__)


def notify(message: str) -> bool:
    """Send e.g. "READY=1". Returns False when not run by systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError as e:
        log.warning("systemd.notify_failed", error=str(e))
        return False
    return True


def watchdog_interval() -> float | None:
    """Half of WATCHDOG_USEC in seconds, if systemd asked this process for pings."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and int(pid) != os.getpid()):
        return None
    return int(usec) / 2_000_000


async def watchdog_loop(interval: float) -> None:
    """Ping while the event loop runs; a stuck loop stops the pings and systemd restarts us."""
    while True:
        notify("WATCHDOG=1")
        await asyncio.sleep(interval)
