"""Release slots: `<data_dir>/releases/<version>/`, the `current` symlink, and rollback.

    releases/0.1.0/        a release (the payload of its bundle)
    releases/0.2.0/
    releases/current -> 0.2.0
    releases/pending.json  {"version", "previous", "switched_ts", "deadline_ts", "boots"}

Switching writes pending.json, then swaps `current` atomically (a new symlink
renamed over the old). The new release is on trial until the daemon marks it
healthy (`mark_healthy`, once it has run for a while). `boot_check`, run at
start, exactly once per start (by the launcher, ncpa.updates.launcher, with the factory
install's code; or by the daemon when it was started without the launcher), rolls back
when the trial release has already been started twice without becoming healthy (crash
loop) or its deadline has passed. `refuse` takes a slot that fails its check at start
(ncpa.updates.release_check) out of use.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from ncpa.log import get_logger
from ncpa.updates.bundle import VERSION_RE, BundleError, Manifest, extract_bundle

log = get_logger(__name__)

HEALTHY = ".healthy"
PENDING = "pending.json"
CURRENT = "current"
LAST_ROLLBACK = "rollback.json"
KEEP_RELEASES = 3
# starts allowed on trial: the first, plus one (an installer's reboot right after an update)
TRIAL_STARTS = 2


@dataclass(frozen=True)
class Pending:
    version: str
    previous: str | None
    switched_ts: float
    deadline_ts: float
    boots: int = 0


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        json.dump(data, f)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


class Releases:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "releases"

    # -- queries ------------------------------------------------------------

    def current_version(self) -> str | None:
        link = self.root / CURRENT
        return os.readlink(link) if link.is_symlink() else None

    def versions(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(
            p.name
            for p in self.root.iterdir()
            if p.is_dir() and not p.is_symlink() and VERSION_RE.match(p.name)
        )

    def pending(self) -> Pending | None:
        try:
            raw = json.loads((self.root / PENDING).read_text())
            return Pending(**raw)
        except (OSError, ValueError, TypeError):
            return None

    def last_rollback(self) -> dict[str, Any] | None:
        try:
            data = json.loads((self.root / LAST_ROLLBACK).read_text())
            return data if isinstance(data, dict) else None
        except (OSError, ValueError):
            return None

    # -- install and switch -------------------------------------------------------

    def install(self, bundle: Path, vendor_key: ed25519.Ed25519PublicKey) -> Manifest:
        """Extract into releases/<version> (via a staging folder). Active release untouched."""
        self.root.mkdir(parents=True, exist_ok=True)
        staging = self.root / f".staging-{os.getpid()}-{time.monotonic_ns()}"
        try:
            manifest = extract_bundle(bundle, vendor_key, staging)
            target = self.root / manifest.version
            if manifest.version == self.current_version():
                raise BundleError(f"version {manifest.version} is the running release")
            if target.exists():
                shutil.rmtree(target)  # an earlier, unused copy of the same version
            staging.rename(target)
            return manifest
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _point_current(self, version: str) -> None:
        tmp = self.root / f".current-{os.getpid()}"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(version)
        tmp.replace(self.root / CURRENT)  # rename(2): atomic

    def switch(self, version: str, health_timeout: float, now: float | None = None) -> None:
        if not (self.root / version).is_dir():
            raise ValueError(f"release {version} is not installed")
        now = time.time() if now is None else now
        pending = Pending(version, self.current_version(), now, now + health_timeout)
        _write_json(self.root / PENDING, pending.__dict__)
        self._point_current(version)
        log.info("update.switched", version=version, previous=pending.previous)

    def mark_healthy(self) -> str | None:
        """The running release works: end its trial. Returns the version confirmed."""
        pending = self.pending()
        version = self.current_version()
        if version is not None:
            (self.root / version / HEALTHY).write_text(str(int(time.time())))
        if pending is not None and pending.version == version:
            (self.root / PENDING).unlink(missing_ok=True)
            log.info("update.healthy", version=version)
            self._prune(keep={version, pending.previous})
        return version

    def rollback(self, reason: str) -> str | None:
        pending = self.pending()
        if pending is None:
            return None
        if pending.previous is not None and (self.root / pending.previous).is_dir():
            self._point_current(pending.previous)
        else:
            (self.root / CURRENT).unlink(missing_ok=True)  # back to the factory install
        _write_json(
            self.root / LAST_ROLLBACK,
            {"failed": pending.version, "restored": pending.previous, "reason": reason,
             "ts": int(time.time())},
        )  # fmt: skip
        (self.root / PENDING).unlink(missing_ok=True)
        log.warning("update.rolled_back", failed=pending.version, restored=pending.previous,
                    reason=reason)  # fmt: skip
        return pending.previous

    def boot_check(self, now: float | None = None) -> str:
        """At start: 'none' (no trial), 'trial' (new release on trial) or 'rolled_back'."""
        pending = self.pending()
        if pending is None:
            return "none"
        now = time.time() if now is None else now
        if self.current_version() != pending.version:
            (self.root / PENDING).unlink(missing_ok=True)  # someone switched by hand
            return "none"
        if pending.boots >= TRIAL_STARTS:
            self.rollback(f"started {pending.boots} times without reporting healthy")
            return "rolled_back"
        # now < switched_ts: the clock went back (a Pi without RTC before time sync); the
        # start count still ends a crash loop, the deadline waits for a clock it can use
        if now > pending.deadline_ts and now >= pending.switched_ts:
            self.rollback("did not report healthy in time")
            return "rolled_back"
        _write_json(self.root / PENDING, {**pending.__dict__, "boots": pending.boots + 1})
        return "trial"

    def refuse(self, version: str, reason: str) -> str | None:
        """`version` failed its check at start: never run it. Back to the release before a
        trial, or to the factory install. Returns the version now current (None: factory)."""
        if self.current_version() != version:
            return self.current_version()
        pending = self.pending()
        if pending is not None and pending.version == version:
            self.rollback(reason)
        else:
            (self.root / CURRENT).unlink(missing_ok=True)
            _write_json(
                self.root / LAST_ROLLBACK,
                {"failed": version, "restored": None, "reason": reason, "ts": int(time.time())},
            )
            log.error("update.release_refused", version=version, reason=reason)
        return self.current_version()

    def remove_unused(self) -> list[str]:
        """Releases that are neither current nor the rollback target (developer route)."""
        pending = self.pending()
        keep = {self.current_version(), pending.previous if pending else None}
        removed = [v for v in self.versions() if v not in keep]
        for v in removed:
            shutil.rmtree(self.root / v, ignore_errors=True)
        return removed

    def _prune(self, keep: set[str | None]) -> None:
        old = [v for v in self.versions() if v not in keep]
        old.sort(key=lambda v: (self.root / v).stat().st_mtime)
        for v in old[: max(0, len(old) - (KEEP_RELEASES - len(keep)))]:
            shutil.rmtree(self.root / v, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ncpa.updates.slots")
    p.add_argument("command", choices=["boot-check", "mark-healthy", "status"])
    p.add_argument("data_dir", type=Path)
    args = p.parse_args(argv)
    releases = Releases(args.data_dir)
    if args.command == "boot-check":
        print(releases.boot_check())
    elif args.command == "mark-healthy":
        print(releases.mark_healthy())
    else:
        print(json.dumps({"current": releases.current_version(), "versions": releases.versions(),
                          "pending": releases.pending().__dict__ if releases.pending() else None,
                          "last_rollback": releases.last_rollback()}))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
