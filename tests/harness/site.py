"""The site as an instance serves it: production settings under gunicorn with the repo's config."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from pathlib import Path

from . import process
from .aws import free_port

ROOT = Path(__file__).resolve().parents[2]
HOST = "employees.example.com"
KEY_SECRET_ID = "test/employees/django-secret-key"


def manage(env, *args):
    """manage.py in a child process with exactly ``env``."""
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


class Gunicorn:
    """The site under gunicorn with the repo's config, on a free loopback port."""

    def __init__(self, env, log: Path):
        self.port = free_port()
        self.log = log
        with open(log, "wb") as out:
            self.process = process.start(
                [
                    *(sys.executable, "-m", "gunicorn", "-c", "employees_site/gunicorn.conf.py"),
                    *("--bind", f"127.0.0.1:{self.port}", "--workers", "1", "--threads", "2"),
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

    def get(self, path, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", path, headers={"Host": HOST, **(headers or {})})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def log_lines(self):
        return [
            json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")
        ]

    def stop(self):
        process.stop(self.process)
