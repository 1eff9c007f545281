"""The edge of the install test: the commands install.sh uses to change the system
itself (packages, users, groups, systemd) replaced by scripts that record what they were
asked and keep a small user/group database in a folder, so that a second run sees what
the first one made. Everything else install.sh does (directories, modes, owners, the
venv from the wheelhouse, copies) really happens, under DESTDIR."""

from __future__ import annotations

import os
from pathlib import Path

NCPA_UID = 64101  # not in this machine's passwd: owners are checked by number
NCPA_GID = 64101
GPIO_GID = 64102

STUB = Path(__file__).with_name("edge_stub.sh")  # the recording stub, one for all commands

COMMANDS = ("dpkg-query", "apt-get", "systemctl", "getent", "groupadd", "useradd", "usermod", "id")


def make_edge(folder: Path) -> tuple[Path, Path]:
    """(bin folder to put first on PATH, state folder). The machine has dialout but
    neither gpio nor ncpa; python3 and python3-venv are installed, the rest is not."""
    bin_dir, state = folder / "bin", folder / "state"
    bin_dir.mkdir(parents=True)
    state.mkdir()
    (state / "group").write_text("root:x:0:\ndialout:x:20:\n")
    (state / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (state / "installed").write_text("python3\npython3-venv\n")
    (state / "next_gid_gpio").write_text(f"{GPIO_GID}\n")
    (state / "next_gid_ncpa").write_text(f"{NCPA_GID}\n")
    text = (
        STUB.read_text()
        .replace("__NCPA_UID__", str(NCPA_UID))
        .replace("__NCPA_GID__", str(NCPA_GID))
    )
    for name in COMMANDS:
        path = bin_dir / name
        path.write_text(text)
        path.chmod(0o755)
    return bin_dir, state


def calls(state: Path) -> list[str]:
    path = state / "calls"
    return path.read_text().splitlines() if path.exists() else []


def edge_env(bin_dir: Path, state: Path, destdir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "EDGE_STATE": str(state),
        "DESTDIR": str(destdir),
    }
