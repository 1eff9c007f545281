"""systemd/install.sh into a throwaway root (DESTDIR), from a wheelhouse built by the
project's own `make wheelhouse` for this machine's arch; the system-changing commands at
the edge are recorded (tests/deploy/edge.py). Checked: the users and groups asked for,
owners and modes, the polkit rule, the venv from the wheelhouse only, nothing else of the
checkout, and a second run that changes nothing."""

from __future__ import annotations

import hashlib
import os
import platform
import stat
import subprocess
from pathlib import Path

import pytest

from tests.deploy.edge import NCPA_GID, NCPA_UID, calls, edge_env, make_edge
from tests.deploy.unit import REPO

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="install.sh test needs root (chown in DESTDIR)"),
]
ARCH = platform.machine()
VENV_PY = REPO / ".venv" / "bin" / "python"


@pytest.fixture(scope="module")
def wheelhouse() -> Path:
    """`make wheelhouse` for this arch, kept in the venv folder while pyproject.toml is
    the same (the dependencies do not change with the code; the project wheel is rebuilt)."""
    key = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()[:12]
    out = REPO / ".venv" / f"wheelhouse-{key}"
    if not (out / ARCH).is_dir():
        r = subprocess.run(
            ["make", "-s", "wheelhouse", f"WHEELHOUSE={out}.part", f"WHEEL_ARCHS={ARCH}"],
            cwd=REPO, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if r.returncode != 0:
            pytest.fail(f"make wheelhouse failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
        os.replace(f"{out}.part", out)
    return out / ARCH


def checkout_files() -> list[Path]:
    """Every file of the checkout that could be copied by mistake: tracked or not
    (.git, build output, demo/data, certs/dev keys), but not the venv."""
    out = []
    for top, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d != ".venv"]
        out += [Path(top) / f for f in files if not (Path(top) / f).is_symlink()]
    return out


def manifest(root: Path) -> dict[str, tuple[int, int, int, str]]:
    """path -> (mode, uid, gid, sha256 or link target) of everything under root."""
    out: dict[str, tuple[int, int, int, str]] = {}
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(top) / name
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                what = "-> " + os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                what = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                what = "dir"
            out[str(p.relative_to(root))] = (st.st_mode, st.st_uid, st.st_gid, what)
    return out


def run_install(root: Path, edge: tuple[Path, Path], wheelhouse: Path) -> str:
    r = subprocess.run(
        ["sh", str(REPO / "systemd" / "install.sh"), str(wheelhouse)],
        env=edge_env(*edge, root), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def mode(root: Path, rel: str) -> tuple[str, int, int]:
    st = (root / rel).stat()
    return oct(st.st_mode & 0o7777), st.st_uid, st.st_gid


def test_install_twice_into_a_throwaway_root(tmp_path: Path, wheelhouse: Path) -> None:
    root = tmp_path / "root"
    edge = make_edge(tmp_path / "edge")
    old = root / "opt/ncpa/src/certs/dev"  # what the old install.sh left: a checkout copy
    old.mkdir(parents=True)
    (old / "vendor-signing.key").write_text("development key\n")
    out = run_install(root, edge, wheelhouse)
    assert not (root / "opt/ncpa/src").exists()
    assert "Installed ncpa 0.1.0" in out
    first = calls(edge[1])

    # what was asked of the system: packages after an index update, users and groups
    apt = [c for c in first if c.startswith("apt-get")]
    assert apt[0] == "apt-get update"
    assert apt[1] == "apt-get install -y --no-install-recommends network-manager polkitd"
    assert "groupadd --system gpio" in first and "groupadd --system ncpa" in first
    (useradd,) = [c for c in first if c.startswith("useradd")]
    assert "--system" in useradd and "/usr/sbin/nologin" in useradd and "--gid ncpa" in useradd
    assert "usermod -aG dialout ncpa" in first and "usermod -aG gpio ncpa" in first
    assert first[-2:] == ["systemctl daemon-reload", "systemctl enable ncpa.service"]

    # owners and modes
    assert mode(root, "etc/ncpa") == ("0o750", 0, NCPA_GID)
    assert mode(root, "etc/ncpa/keys") == ("0o750", 0, NCPA_GID)
    assert mode(root, "etc/ncpa/ncpa.toml") == ("0o640", 0, NCPA_GID)
    assert mode(root, "var/lib/ncpa") == ("0o750", NCPA_UID, NCPA_GID)
    assert mode(root, "var/lib/ncpa/lgpio") == ("0o750", NCPA_UID, NCPA_GID)
    assert mode(root, "etc/systemd/system/ncpa.service") == ("0o644", 0, 0)
    assert (root / "etc/systemd/system/ncpa.service").read_bytes() == (
        REPO / "systemd" / "ncpa.service"
    ).read_bytes()
    rule = root / "etc/polkit-1/rules.d/50-ncpa-hotspot.rules"
    assert mode(root, str(rule.relative_to(root))) == ("0o644", 0, 0)
    text = rule.read_text()
    assert 'subject.user !== "ncpa"' in text
    assert "org.freedesktop.NetworkManager.settings.modify.system" in text
    assert "org.freedesktop.NetworkManager.network-control" in text
    assert 'GROUP="gpio"' in (root / "etc/udev/rules.d/60-ncpa-gpio.rules").read_text()
    # the code: root-owned, nothing the service user (or anyone but root) may change
    for top, dirs, files in os.walk(root / "opt"):
        for name in dirs + files:
            st = (Path(top) / name).lstat()
            assert st.st_uid == 0, name
            if not stat.S_ISLNK(st.st_mode):
                assert not st.st_mode & 0o022, f"{top}/{name} is group/world-writable"

    # nothing of the checkout but the wheelhouse's packages
    files = manifest(root)
    allowed = ("opt/ncpa", "etc/ncpa", "var/lib/ncpa", "etc/systemd/system/ncpa.service",
               "etc/polkit-1/rules.d/50-ncpa-hotspot.rules",
               "etc/udev/rules.d/60-ncpa-gpio.rules")  # fmt: skip
    parents = {"opt", "etc", "var", "var/lib", "etc/systemd", "etc/systemd/system",
               "etc/polkit-1", "etc/polkit-1/rules.d", "etc/udev", "etc/udev/rules.d"}  # fmt: skip
    stray = [p for p in files if p not in parents and not p.startswith(allowed)]
    assert stray == []
    # no file of the checkout went in, except the package code (from the wheel) and the
    # three files install.sh installs; dev keys above all (dlms_cosem ships a `tests`
    # package of its own: names prove nothing, contents do)
    installed = {"systemd/ncpa.service", "systemd/ncpa-hotspot.rules", "docs/ncpa.example.toml"}
    checkout = {
        hashlib.sha256(p.read_bytes()).hexdigest(): str(p.relative_to(REPO))
        for p in checkout_files()
        if str(p.relative_to(REPO)) not in installed
        # the packages come from the wheel, whose metadata the egg-info repeats
        and p.relative_to(REPO).parts[0] not in ("ncpa", "hal", "simulator", "ncpa.egg-info")
        and p.stat().st_size >= 64  # a blank line or an empty __init__.py is everywhere
    }
    assert not {p: checkout[h] for p, (_m, _u, _g, h) in files.items() if h in checkout}
    assert not [p for p in files if p.startswith("opt/ncpa/src")]
    site = root / "opt/ncpa/venv/lib/python3.11/site-packages"
    assert (site / "ncpa" / "cli.py").exists() and not (site / "ncpa.pth").exists()
    assert (site / "aiohttp").is_dir() and (site / "cryptography").is_dir()
    r = subprocess.run(
        [str(root / "opt/ncpa/venv/bin/python"), "-I", "-c",
         "import ncpa.cli, sys; print(ncpa.cli.__file__)"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0 and r.stdout.startswith(str(site)), r.stderr

    # a second run changes nothing and asks nothing of the system but systemd's reload
    run_install(root, edge, wheelhouse)
    second = calls(edge[1])[len(first) :]
    assert not [c for c in second if c.split()[0] in ("apt-get", "useradd", "groupadd", "usermod")]
    assert manifest(root) == files


def test_no_wheelhouse_is_one_clear_line(tmp_path: Path) -> None:
    edge = make_edge(tmp_path / "edge")
    r = subprocess.run(
        ["sh", str(REPO / "systemd" / "install.sh"), str(tmp_path / "nothing")],
        env=edge_env(*edge, tmp_path / "root"), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 1
    assert r.stderr.strip().startswith("install.sh: no wheelhouse in")
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "root").exists() and calls(edge[1]) == ["id -u"]  # root?
