"""The embedded broker never outlives the program that started it, however that program ends."""

import os
import signal
import subprocess
import sys
import time

import pytest

from pipelines.io.broker import free_port
from pipelines.io.kafka import KafkaSettings

pytestmark = pytest.mark.integration


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True).stdout.strip()
    return bool(state) and not state.startswith("Z")


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_broker_stops_when_its_program_ends(how):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "broker", "--port", str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert f"Tansu broker on 127.0.0.1:{port}" in proc.stdout.readline()
        KafkaSettings(f"127.0.0.1:{port}").check_reachable()
        (tansu,) = _children(proc.pid)
        proc.send_signal(how)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while _alive(tansu) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(tansu), f"Tansu (pid {tansu}) outlived its parent after {how.name}"
        if how != signal.SIGKILL:
            assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
