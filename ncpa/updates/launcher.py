"""Start the agent from the factory install, with the current release once it is checked.

    /opt/ncpa/venv/bin/python -m ncpa.updates.launcher run --config /etc/ncpa/ncpa.toml

This runs the factory install's code (root-owned, /opt/ncpa/venv), in one process:
1. count this start of a release on trial, once (Releases.boot_check; rolls back a
   release that was started twice without reporting healthy);
2. check the current release slot against the pinned vendor key (signature, every
   file's hash, nothing extra: ncpa.updates.release_check); a slot that fails is never
   imported: back to the release before it, or to the factory install;
3. put the checked slot first on sys.path, forget the factory's own ncpa modules, and
   run that release's `ncpa` command with the same arguments.
A restart of the daemon (update, OCPP Reset) executes the same command line again, so
every start goes through here. A config error is left to the command (one line, exit 2).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from ncpa import log
from ncpa.updates.bundle import BundleError, load_vendor_key
from ncpa.updates.health import BOOT_CHECKED_ENV
from ncpa.updates.release_check import verify_release
from ncpa.updates.slots import Releases

logger = log.get_logger("ncpa.updates.launcher")
PACKAGES = ("ncpa", "hal", "simulator")  # what a release may replace


def _locate(argv: list[str]) -> tuple[Path, Path, str] | None:
    """(data_dir, vendor key, log format) from the run command's arguments; None: a
    config error, which the command itself reports."""
    from ncpa.api.settings import from_config
    from ncpa.config import ConfigError, load

    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--config", type=Path)
    p.add_argument("--data-dir", type=Path)
    p.add_argument("--log-format")
    known, _ = p.parse_known_args(argv)
    try:
        cfg = load(known.config, {"data_dir": known.data_dir})
        settings = from_config(cfg)
    except ConfigError:
        return None
    return cfg.data_dir, settings.vendor_key_path(), known.log_format or cfg.log_format


def checked_release(data_dir: Path, vendor_key_path: Path) -> Path | None:
    """Count this start, then the slot to run (None: the factory install)."""
    releases = Releases(data_dir)
    state = releases.boot_check()
    for _ in range(3):  # the release, the one before it, the factory install
        version = releases.current_version()
        if version is None:
            return None
        slot = releases.root / version
        try:
            verify_release(slot, load_vendor_key(vendor_key_path.read_bytes()))
        except (BundleError, OSError, ValueError) as e:
            releases.refuse(version, f"refused at start: {e}")
            continue
        logger.info("update.release_checked", version=version, trial=state == "trial")
        return slot.resolve()  # the slot itself, not `current`: a later switch changes nothing
    return None


def _run_from(slot: Path) -> None:
    for name in list(sys.modules):
        if name.split(".")[0] in PACKAGES:
            del sys.modules[name]
    sys.path.insert(0, str(slot))
    sys.dont_write_bytecode = True  # never write next to the checked files
    importlib.invalidate_caches()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    located = _locate(args) if args[:1] == ["run"] else None
    if located is not None:
        data_dir, vendor_key_path, log_format = located
        log.configure(log_format, "INFO")
        os.environ[BOOT_CHECKED_ENV] = "1"
        slot = checked_release(data_dir, vendor_key_path)
        if slot is not None:
            _run_from(slot)
    cli = importlib.import_module("ncpa.cli")
    result: int = cli.main(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
