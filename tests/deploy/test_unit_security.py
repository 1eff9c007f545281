"""The unit's sandbox, as systemd itself scores it: exposure 2.0 or lower, and
`systemd-analyze verify` without a complaint. Needs systemd-analyze >= 250 (--offline)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.unit import DEVICE_PYTHON, UNIT, values

MAX_EXPOSURE = 2.0
ANALYZE = shutil.which("systemd-analyze")
pytestmark = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze not installed")


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run([ANALYZE, *args], capture_output=True, text=True, timeout=60)


def test_exposure_is_at_most_2() -> None:
    r = analyze("security", "--offline=yes", "--no-pager", str(UNIT))
    m = re.search(r"Overall exposure level for ncpa\.service: (\d+\.\d)", r.stdout)
    assert m, r.stdout + r.stderr
    assert float(m.group(1)) <= MAX_EXPOSURE, r.stdout
    # and systemd's own threshold check agrees (exit status)
    t = analyze("security", "--offline=yes", f"--threshold={int(MAX_EXPOSURE * 10)}", str(UNIT))
    assert t.returncode == 0, t.stdout


def test_every_sandbox_setting_is_what_systemd_understood() -> None:
    r = analyze("security", "--offline=yes", "--json=short", str(UNIT))
    checks = {c["name"]: c for c in json.loads(r.stdout)}
    for name in ("NoNewPrivileges=", "ProtectSystem=", "ProtectHome=", "PrivateTmp=",
                 "CapabilityBoundingSet=~CAP_SYS_ADMIN", "CapabilityBoundingSet=~CAP_NET_ADMIN",
                 "RestrictNamespaces=~user", "SystemCallArchitectures="):  # fmt: skip
        assert checks[name]["set"], name


def test_verify_is_clean(tmp_path: Path) -> None:
    # the device's interpreter path does not exist here: the same unit, pointed at this one
    unit = tmp_path / "ncpa.service"
    unit.write_text(UNIT.read_text().replace(DEVICE_PYTHON, sys.executable))
    r = analyze("verify", str(unit))
    assert r.returncode == 0 and not r.stderr.strip() and not r.stdout.strip(), r.stderr


def test_no_uplink_wait_and_no_restart_loop_on_config_errors() -> None:
    assert "network-online.target" not in " ".join(
        values("After", "Unit") + values("Wants", "Unit")
    )
    assert values("RestartPreventExitStatus") == ["2"]
    assert values("WorkingDirectory")[0].startswith("/var/lib/ncpa/")
    assert values("ReadWritePaths") == ["/var/lib/ncpa"]
