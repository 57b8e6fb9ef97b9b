"""moto in server mode on a free 127.0.0.1 port: the local AWS API over HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import urllib.error
import urllib.request

from . import process

REGION = "us-east-1"
# moto accepts any credentials; these make boto3 sign requests without looking for real ones.
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MotoServer:
    """A ``moto.server`` child process; ``endpoint_url`` is what AWS_ENDPOINT_URL points at."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        # "localhost", not 127.0.0.1: moto's CloudFormation fetches nested TemplateURLs only from
        # an address it recognises as its own S3 (see LAB-NOTES); the name resolves to loopback.
        self.endpoint_url = f"http://localhost:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 20) -> MotoServer:
        self.process = process.start(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            ready=self._answers,
            name=f"moto server on port {self.port}",
            timeout=timeout,
        )
        return self

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=1):
                return True
        except (urllib.error.URLError, ConnectionError):
            return False

    def stop(self) -> None:
        process.stop(self.process, timeout=10)

    def reset(self) -> None:
        """Forget every resource (moto's own reset endpoint)."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=5):
            pass
