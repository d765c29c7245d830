"""`guideline ui` as a process manager sees it: SIGTERM stops the server and frees the port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port, wait_http

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration  # a real Streamlit server


def _servers_on(port: int) -> list[int]:
    """Pids of Streamlit processes started for this port (any parent)."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            args = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(args) and str(port).encode() in args:
            pids.append(int(d.name))
    return pids


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_sigterm_to_guideline_ui_stops_streamlit_and_frees_the_port(tmp_path):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GUIDELINE_DATA_DIR": str(tmp_path / "data"),
           "GUIDELINE_CORPUS_DIR": str(ROOT / "corpus"), "HOME": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "ui.cli", "ui", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/_stcore/health", timeout=120)
        assert _servers_on(port) == [proc.pid]  # the command *is* the server: nothing to orphan
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        assert _servers_on(port) == []
        assert _port_free(port)
    finally:
        for pid in _servers_on(port):
            os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
