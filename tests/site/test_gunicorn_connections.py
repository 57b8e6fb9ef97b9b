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
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.harness import process
from tests.harness.aws import free_port

ROOT = Path(__file__).resolve().parents[2]
CONFIG = runpy.run_path(str(ROOT / "employees_site/gunicorn.conf.py"))
LIMIT = CONFIG["keepalive_requests"]


def _serve(tmp_path, workers: int):
    """The repo's gunicorn config serving an app that answers with its pid: (port, master)."""
    port = free_port()

    def answers() -> bool:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/", headers={"Connection": "close"})
            return connection.getresponse().status == 200
        except OSError:
            return False

    master = process.start_logged(
        [
            *(sys.executable, "-m", "gunicorn", "-c", "employees_site/gunicorn.conf.py"),
            *("--bind", f"127.0.0.1:{port}", "--workers", str(workers)),
            "tests.site.pid_app:application",
        ],
        tmp_path / "gunicorn.log",
        ready=answers,
        name="gunicorn (pid app)",
        timeout=30,
        cwd=ROOT,
    )
    return port, master


@pytest.fixture
def two_workers(tmp_path):
    port, master = _serve(tmp_path, 2)
    try:
        yield port
    finally:
        process.stop(master)


@pytest.fixture
def one_worker(tmp_path):
    port, master = _serve(tmp_path, 1)
    try:
        yield port, master
    finally:
        process.stop(master)


def _workers(master) -> set[str]:
    """The pids of the master's children, from /proc (no procps needed)."""
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # gone meanwhile
        # pid (comm) state ppid ...: comm may hold spaces, so split after its last ")".
        if int(text.rsplit(")", 1)[1].split()[1]) == master.pid:
            children.add(stat.parent.name)
    return children


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


def test_a_new_worker_gets_connections_that_were_open_before_it(one_worker):
    """Four clients keep their connections alive on the only worker; a second worker then
    starts (as a recycled one does) with none. Within three connections' worth of requests per
    client, some of them reach it: with keep-alive alone, none ever would."""
    port, master = one_worker
    (first,) = _workers(master)
    clients = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(4)]
    try:
        for client in clients:  # every connection open, on the only worker
            client.request("GET", "/")
            assert client.getresponse().read().decode() == first
        master.send_signal(signal.SIGTTIN)  # gunicorn: one worker more
        deadline = time.monotonic() + 20
        while len(_workers(master)) < 2:
            assert time.monotonic() < deadline, "gunicorn started no second worker"
            time.sleep(0.05)
        (second,) = _workers(master) - {first}
        time.sleep(0.5)  # booted and polling the socket
        served: list[list[str]] = [[] for _ in clients]

        def load(index: int) -> None:
            for _ in range(3 * LIMIT):
                clients[index].request("GET", "/")
                response = clients[index].getresponse()
                served[index].append(response.read().decode())
                if response.getheader("Connection") == "close":
                    clients[index].close()  # the next request opens a new connection

        threads = [threading.Thread(target=load, args=(i,)) for i in range(len(clients))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        for client in clients:
            client.close()
    pids = [pid for answers in served for pid in answers]
    assert len(pids) == 4 * 3 * LIMIT
    assert second in pids, f"all {len(pids)} requests stayed on the first worker"
