"""One agent per data directory: an exclusive lock on `<data_dir>/ncpa.lock`.

Two agents on one database would both drive the outbox and both answer for the same
transactions. The lock is an flock, so the kernel drops it with the process (kill -9,
power cut): a stale lock file never blocks the next start. The file holds the pid of the
holder, for the message the second agent prints.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from ncpa.config import ConfigError, os_reason

LOCK_NAME = "ncpa.lock"


class DataDirLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        """Raises ConfigError (one line) when another process holds it or the dir is unusable."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise ConfigError(f"data_dir {self.path.parent}: cannot use it ({os_reason(e)})") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise ConfigError(
                f"data_dir {self.path.parent}: in use by another agent (pid {holder})"
            ) from e
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            # unlock, keep the file: removing it would race with a starting agent
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
