"""The site's gunicorn worker spreads connections over the workers (employees_site/workers.py).

gunicorn's gthread workers all poll the one listening socket and accept whatever arrives, busy or
not; keep-alive then ties each connection to the worker that took it. A burst of connections (a
load balancer opening its pool, wrk starting) could all land on one worker, leaving another with
none: on two cores that halved the site's throughput in one benchmark round of three.
"""

from __future__ import annotations

import http.client
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.harness import process
from tests.harness.aws import free_port

ROOT = Path(__file__).resolve().parents[2]
SLOW = 3.0  # seconds the first request holds its worker's one thread


@pytest.fixture
def one_thread_workers(tmp_path):
    """Two workers of one thread each, with the repo's gunicorn config otherwise."""
    port = free_port()
    log = tmp_path / "gunicorn.log"

    def answers() -> bool:
        try:
            return _get(port, "/")[0] == 200
        except OSError:
            return False

    server = process.start_logged(
        [
            *(sys.executable, "-m", "gunicorn", "-c", "employees_site/gunicorn.conf.py"),
            *("--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "1"),
            "tests.site.pid_app:application",
        ],
        log,
        ready=answers,
        name="gunicorn (pid app)",
        timeout=30,
        cwd=ROOT,
        env={**os.environ, "PID_APP_DIR": str(tmp_path)},
    )
    try:
        yield port
    finally:
        process.stop(server)


def _get(port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=SLOW + 10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def test_a_busy_worker_leaves_new_connections_to_a_free_one(one_thread_workers, tmp_path):
    """While one worker's only thread is busy, every new connection goes to the other worker.

    A stock gthread worker takes about half of them and queues them behind its slow request
    (all eight avoiding it by chance: 1 in 256).
    """
    port = one_thread_workers
    slow: list[tuple[int, str]] = []
    holder = threading.Thread(
        target=lambda: slow.append(_get(port, f"/?sleep={SLOW}&started=slow")), daemon=True
    )
    holder.start()
    _wait_for(tmp_path / "slow")
    quick = [_get(port, "/") for _ in range(8)]
    holder.join(SLOW + 15)
    assert len(slow) == 1 and slow[0][0] == 200
    busy = slow[0][1]
    assert [status for status, _ in quick] == [200] * 8
    pids = {pid for _, pid in quick}
    assert busy not in pids, f"{sum(pid == busy for _, pid in quick)} of 8 waited on the busy one"
    assert len(pids) == 1


def _wait_for(path: Path, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"the slow request did not start in {timeout}s"
        time.sleep(0.01)
