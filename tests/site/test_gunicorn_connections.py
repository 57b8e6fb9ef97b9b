"""Keep-alive connections keep spreading over gunicorn's workers (keepalive_requests).

gunicorn's gthread workers all poll the one listening socket and accept whatever arrives; keep-alive
then ties each connection to the worker that took it for as long as the client (the load balancer)
keeps it. A burst of new connections could all land on one worker, and a recycled worker starts
with none: under make bench, 16 connections sat on one of two workers for a whole run, at half the
throughput. gunicorn.conf.py closes each connection after ``keepalive_requests`` requests, so the
client reconnects and the connections spread again.
"""

from __future__ import annotations

import http.client
import runpy
import sys
from pathlib import Path

import pytest

from tests.harness import process
from tests.harness.aws import free_port

ROOT = Path(__file__).resolve().parents[2]
CONFIG = runpy.run_path(str(ROOT / "employees_site/gunicorn.conf.py"))
LIMIT = CONFIG["keepalive_requests"]


@pytest.fixture
def two_workers(tmp_path):
    """The repo's gunicorn config, two workers, serving an app that answers with its pid."""
    port = free_port()

    def answers() -> bool:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/", headers={"Connection": "close"})
            return connection.getresponse().status == 200
        except OSError:
            return False

    server = process.start_logged(
        [
            *(sys.executable, "-m", "gunicorn", "-c", "employees_site/gunicorn.conf.py"),
            *("--bind", f"127.0.0.1:{port}", "--workers", "2"),
            "tests.site.pid_app:application",
        ],
        tmp_path / "gunicorn.log",
        ready=answers,
        name="gunicorn (pid app)",
        timeout=30,
        cwd=ROOT,
    )
    try:
        yield port
    finally:
        process.stop(server)


def _requests(port: int, count: int) -> list[tuple[str, str]]:
    """``count`` requests by one client that keeps its connection alive and reconnects when the
    server closes it: (worker pid, Connection header) of each answer."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    answers = []
    try:
        for _ in range(count):
            connection.request("GET", "/")
            response = connection.getresponse()
            answers.append((response.read().decode(), response.getheader("Connection")))
            if response.getheader("Connection") == "close":
                connection.close()  # the next request opens a new connection
    finally:
        connection.close()
    return answers


def test_a_keep_alive_connection_is_closed_after_its_share_of_requests(two_workers):
    """The ``keepalive_requests``-th answer on a connection says "Connection: close"; every one
    before it keeps the connection, and all of them come from one worker."""
    answers = _requests(two_workers, LIMIT)
    assert [header for _, header in answers] == ["keep-alive"] * (LIMIT - 1) + ["close"]
    assert len({pid for pid, _ in answers}) == 1


def test_one_clients_connections_reach_both_workers(two_workers):
    """Over twelve connections' worth of requests, one keep-alive client is served by both
    workers (with keep-alive alone, by one for ever; by chance one worker takes all twelve
    connections once in 2,048 runs)."""
    answers = _requests(two_workers, 12 * LIMIT)
    assert len({pid for pid, _ in answers}) == 2
