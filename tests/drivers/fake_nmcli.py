#!/usr/bin/env python3
"""A stand-in for `nmcli` (no NetworkManager in the test machine): it keeps the state of
the connection profiles in a JSON file next to it and answers like nmcli does."""

import json
import os
import sys
from pathlib import Path

state_file = Path(os.environ["FAKE_NMCLI_STATE"])
state = json.loads(state_file.read_text()) if state_file.exists() else {"cons": {}, "active": []}
args = sys.argv[1:]
with Path(str(state_file) + ".log").open("a") as log:
    log.write(" ".join(args) + "\n")
if args[:2] == ["connection", "delete"]:
    if args[2] not in state["cons"]:
        print(f"Error: unknown connection '{args[2]}'.", file=sys.stderr)
        sys.exit(10)
    del state["cons"][args[2]]
    state["active"] = [c for c in state["active"] if c != args[2]]  # deleting deactivates
elif args[:2] == ["connection", "add"]:
    opts = dict(zip(args[2::2], args[3::2], strict=False))
    if len(opts.get("wifi-sec.psk", "")) < 8:
        print("Error: invalid psk", file=sys.stderr)
        sys.exit(2)
    state["cons"][opts["con-name"]] = opts
elif args[:2] == ["connection", "up"]:
    if os.environ.get("FAKE_NMCLI_FAIL_UP"):
        print("Error: Connection activation failed: No suitable device found.", file=sys.stderr)
        sys.exit(4)
    if args[2] not in state["active"]:
        state["active"].append(args[2])
elif args[:2] == ["connection", "down"]:
    state["active"].remove(args[2])
elif args[-3:] == ["connection", "show", "--active"]:
    print("\n".join(state["active"]))
else:
    sys.exit(1)
state_file.write_text(json.dumps(state))
