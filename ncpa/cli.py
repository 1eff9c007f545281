"""The `ncpa` command: run the agent, and the tools around it."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

from ncpa import __version__, config, log
from ncpa.config import ConfigError


def _add_run(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="run the charge-point agent")
    p.add_argument("--config", type=Path, help="TOML config file")
    p.add_argument("--sim", action="store_true", help="simulated hardware (developer mode)")
    p.add_argument("--data-dir", type=Path, help="where the SQLite database lives")
    p.add_argument("--id", help="charge point id (OCPP identity)")
    p.add_argument("--csms-url", help="ws:// or wss:// URL of the central system")
    p.add_argument("--ocpp-version", choices=config.OCPP_VERSIONS)
    p.add_argument("--api-port", type=int, help="local API port")
    p.add_argument("--sim-port", type=int, help="simulator control port (with --sim)")
    p.add_argument("--log-format", choices=("text", "json"))


def _add_transactions(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("transactions", help="list the transactions in a data directory")
    p.add_argument("--config", type=Path)
    p.add_argument("--data-dir", type=Path)
    p.add_argument("-n", type=int, default=20, help="how many (newest first)")


def _add_qr(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from ncpa.qr import add_qr_arguments

    add_qr_arguments(sub.add_parser("qr", help="make the QR labels of a charge point"))


def _load(args: argparse.Namespace) -> config.Config:
    overrides = {
        "data_dir": getattr(args, "data_dir", None),
        "simulated": getattr(args, "sim", False),
        "id": getattr(args, "id", None),
        "csms_url": getattr(args, "csms_url", None),
        "ocpp_version": getattr(args, "ocpp_version", None),
        "api_port": getattr(args, "api_port", None),
        "sim_port": getattr(args, "sim_port", None),
    }
    return config.load(args.config, overrides)


def cmd_run(args: argparse.Namespace) -> int:
    from ncpa.daemon import Daemon

    cfg = _load(args)
    log.configure(args.log_format or cfg.log_format, cfg.log_level)
    try:
        return asyncio.run(Daemon(cfg).run())
    except ConfigError as e:
        print(f"ncpa: {e}", file=sys.stderr)
        return 2


def cmd_transactions(args: argparse.Namespace) -> int:
    from ncpa.store import read_transactions, read_untrusted_clock

    cfg = _load(args)
    rows = read_transactions(cfg.data_dir, args.n)
    untrusted = read_untrusted_clock(cfg.data_dir) if rows else set()
    if not rows:
        print("no transactions")
    for tx in rows:
        start = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(tx.start_ts))
        state = f"stopped ({tx.stop_reason})" if tx.stop_ts else "open"
        print(
            f"{tx.id:>5}  connector {tx.connector_id}  {tx.id_tag:<20}  {start}  "
            f"{tx.consumed_wh:>10.1f} Wh  {state}"
            + ("  (clock not synchronized: times uncertain)" if tx.id in untrusted else "")
        )
    return 0


def output_closed(prog: str) -> int:
    """`ncpa transactions | head`: the reader left. Say so once, without a traceback."""
    # stdout is dead: point it at /dev/null, so that the interpreter's final flush is quiet
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    print(f"{prog}: output closed before the end (broken pipe)", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ncpa", description="NCPA charge-point agent")
    parser.add_argument("--version", action="version", version=f"ncpa {__version__}")
    sub = parser.add_subparsers(dest="cmd", required=True)
    _add_run(sub)
    _add_transactions(sub)
    _add_qr(sub)
    from ncpa import hwcheck

    hwcheck.add_arguments(
        sub.add_parser("hw-check", help="check the wiring of the real hardware, step by step")
    )
    from ncpa import keys

    keys.add_arguments(sub.add_parser("keys", help="the charger's keys: create, import, rotate"))
    args = parser.parse_args(argv)
    try:
        if args.cmd == "run":
            return cmd_run(args)
        if args.cmd == "transactions":
            return cmd_transactions(args)
        if args.cmd == "hw-check":
            return hwcheck.command(args)
        if args.cmd == "keys":
            return keys.command(args)
        if args.cmd == "qr":
            from ncpa.qr import qr_main

            return qr_main(args)
    except ConfigError as e:
        print(f"ncpa: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return output_closed("ncpa")
    parser.error(f"unknown command {args.cmd}")
    return 2
