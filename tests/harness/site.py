"""The site as deployed: gunicorn with the repo's config on a free loopback port, and a bounded
load of concurrent requests against it."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import process
from .aws import free_port

ROOT = Path(__file__).resolve().parents[2]
HOST = "employees.example.com"  # DJANGO_ALLOWED_HOSTS of the served site
KEY_SECRET_ID = "test/employees/django-secret-key"


def manage(env, *args):
    """manage.py in a child process with exactly ``env``."""
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float


class Gunicorn:
    """The site under gunicorn with the repo's config, on a free loopback port."""

    def __init__(self, env, log: Path, *, host: str, threads: int = 2):
        self.port = free_port()
        self.log = log
        self.host = host
        with open(log, "wb") as out:
            self.process = process.start(
                [
                    *(sys.executable, "-m", "gunicorn", "-c", "employees_site/gunicorn.conf.py"),
                    *("--bind", f"127.0.0.1:{self.port}", "--workers", "1"),
                    *("--threads", str(threads)),
                ],
                ready=self._healthy,
                name="gunicorn",
                timeout=30,
                diagnose=lambda: f":\n{log.read_text()}",
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def _healthy(self) -> bool:
        try:
            return self.get("/healthz")[0] == 200
        except OSError:
            return False

    def get(self, path, headers=None, timeout: float = 10):
        reply = self.request(path, headers, timeout)
        return reply.status, reply.headers, reply.body

    def request(self, path, headers=None, timeout: float = 10) -> Reply:
        started = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("GET", path, headers={"Host": self.host, **(headers or {})})
            response = connection.getresponse()
            body = response.read()
            return Reply(
                response.status, dict(response.getheaders()), body, time.monotonic() - started
            )
        finally:
            connection.close()

    def log_lines(self):
        return [
            json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")
        ]

    def stop(self):
        process.stop(self.process)


@dataclass
class Load:
    """What a bounded load got back: every reply, and the statuses counted."""

    replies: list[Reply] = field(default_factory=list)

    @property
    def statuses(self) -> Counter:
        return Counter(reply.status for reply in self.replies)

    def server_errors(self, *, besides: int = 503) -> int:
        """5xx answers other than ``besides`` (the clean 503 of a database condition)."""
        return sum(1 for r in self.replies if r.status >= 500 and r.status != besides)


def load(site: Gunicorn, paths: list[str], *, requests: int, concurrency: int = 8) -> Load:
    """``requests`` GETs cycling through ``paths`` from a pool of ``concurrency`` threads."""
    with ThreadPoolExecutor(concurrency) as pool:
        replies = pool.map(lambda i: site.request(paths[i % len(paths)]), range(requests))
        return Load(list(replies))
