"""Start and configuration errors through the real commands: one line naming the problem and
exit code 2, never a traceback (issue 13, items 20-24)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.agent import REPO, Agent, free_port


def ncpa(*args: str, timeout: float = 30.0, cmd: str = "ncpa") -> subprocess.CompletedProcess[str]:
    module = "ncpa" if cmd == "ncpa" else "simulator.cli"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("NOTIFY_SOCKET", None)
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line(proc: subprocess.CompletedProcess[str], *words: str) -> str:
    err = proc.stderr.strip()
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    last = err.splitlines()[-1] if err else ""
    for word in words:
        assert word in last, (word, proc.stderr)
    # the daemon may log before it fails; the problem itself is one line on its own
    assert last.startswith("ncpa"), proc.stderr
    return last


def write_config(tmp_path: Path, text: str = "") -> Path:
    path = tmp_path / "ncpa.toml"
    path.write_text(f'data_dir = "{tmp_path / "data"}"\n' + text)
    return path


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def test_api_port_in_use(tmp_path: Path, busy_port: int) -> None:
    cfg = write_config(tmp_path, '[api]\nhost = "127.0.0.1"\n')
    proc = ncpa(
        "run", "--sim", "--config", str(cfg), "--api-port", str(busy_port),
        "--sim-port", str(free_port()),
    )  # fmt: skip
    assert_one_line(proc, str(busy_port), "in use")


def test_simulator_port_in_use(tmp_path: Path, busy_port: int) -> None:
    cfg = write_config(tmp_path, '[api]\nhost = "127.0.0.1"\n')
    proc = ncpa(
        "run", "--sim", "--config", str(cfg), "--api-port", str(free_port()),
        "--sim-port", str(busy_port),
    )  # fmt: skip
    assert_one_line(proc, str(busy_port), "in use")


def test_transactions_without_a_data_dir(tmp_path: Path) -> None:
    proc = ncpa("transactions", "--data-dir", str(tmp_path / "nowhere"))
    assert_one_line(proc, "nowhere")


def test_config_is_a_directory(tmp_path: Path) -> None:
    for cmd in ("run", "transactions"):
        proc = ncpa(cmd, "--config", str(tmp_path))
        assert_one_line(proc, str(tmp_path), "directory")


def test_data_dir_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    cfg = write_config(tmp_path, '[api]\nhost = "127.0.0.1"\n')
    proc = ncpa(
        "run", "--sim", "--config", str(cfg), "--data-dir", str(blocker / "data"),
        "--api-port", str(free_port()), "--sim-port", str(free_port()),
    )  # fmt: skip
    assert_one_line(proc, "data", str(blocker))


def test_unknown_section_stops_the_start(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, '[stations]\nid = "CP-TYPO"\n')
    proc = ncpa("run", "--sim", "--config", str(cfg))
    assert_one_line(proc, "[stations]", "unknown section")


def test_a_long_id_starts_with_a_derived_ssid(tmp_path: Path) -> None:
    long_id = "EVSE-" + "7" * 43
    agent = Agent(tmp_path, extra="")
    agent.config.write_text(agent.config.read_text().replace("NCPA-IT-0001", long_id))
    agent.start()
    try:
        assert any(line.get("event") == "ncpa.ready" for line in agent.lines)
    finally:
        assert agent.stop() == 0


def test_hw_check_with_a_missing_pin_factory(tmp_path: Path) -> None:
    pytest.importorskip("gpiozero")
    try:
        import lgpio  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("lgpio is installed here: the missing-factory case cannot happen")
    example = (REPO / "docs" / "hardware-example.toml").read_text()
    cfg = write_config(
        tmp_path, example.replace('gpio_pin_factory = ""', 'gpio_pin_factory = "lgpio"')
    )
    proc = ncpa("hw-check", "--config", str(cfg))
    # hw-check reports on stdout, as every other step of its table
    assert proc.returncode == 2 and "Traceback" not in proc.stdout + proc.stderr, proc
    (line,) = [x for x in proc.stdout.splitlines() if "lgpio" in x]
    assert "hardware.gpio_pin_factory" in line


def test_sim_status_into_a_closed_pipe(tmp_path: Path) -> None:
    agent = Agent(tmp_path).start()
    try:
        # `ncpa-sim status | head -0`: the reader is gone before the first line
        reader_gone = subprocess.Popen(
            [sys.executable, "-m", "simulator.cli", "--url",
             f"http://127.0.0.1:{agent.sim_port}", "watch", "--interval", "0.05"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert reader_gone.stdout is not None
        reader_gone.stdout.readline()
        reader_gone.stdout.close()
        time.sleep(0.3)
        _, err = reader_gone.communicate(timeout=20)
        assert "Traceback" not in err and "BrokenPipe" not in err, err
        assert reader_gone.returncode in (0, 2, -13), err
    finally:
        agent.stop()


def test_two_agents_on_one_data_dir(tmp_path: Path) -> None:
    first = Agent(tmp_path).start()
    try:
        proc = ncpa(
            "run", "--sim", "--config", str(first.config), "--data-dir", str(first.data_dir),
            "--api-port", str(free_port()), "--sim-port", str(free_port()),
        )  # fmt: skip
        assert_one_line(proc, str(first.data_dir), "in use")
        assert first.proc is not None and first.proc.poll() is None  # the first runs on
        first.request("GET", "/sim")
    finally:
        assert first.stop() == 0
    # the lock goes with the process: the next start (even after kill -9) gets it
    second = Agent(tmp_path).start()
    second.kill9()
    Agent(tmp_path).start().stop()


@pytest.mark.parametrize(
    ("args", "word"),
    [
        (("--id", "CP-1", "--expires-in", "-10"), "--expires-in"),
        (("--id", "CP-1", "--expires-in", "0"), "--expires-in"),
        (("--id", "CP-1", "--expires-in", "nan"), "--expires-in"),
        (("--id", "CP-1", "--expires-in", "inf"), "--expires-in"),
        (("--id", ""), "--id"),
        (("--id", "CP 1"), "--id"),
    ],
)
def test_qr_refuses_labels_that_can_never_work(args: tuple[str, ...], word: str) -> None:
    proc = ncpa("qr", *args, "--format", "token")
    assert proc.stdout == ""
    assert_one_line(proc, word)
