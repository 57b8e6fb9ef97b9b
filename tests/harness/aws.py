"""moto in server mode on a free 127.0.0.1 port: the local AWS API over HTTP."""

from __future__ import annotations

import collections
import http.client
import http.server
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
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


class CountingProxy:
    """A local AWS API endpoint in front of moto that counts the calls it forwards, by operation
    (``X-Amz-Target``), or with ``hang`` set, accepts connections and never answers them: the
    Secrets Manager that stalls. Point a process's AWS_ENDPOINT_URL at ``endpoint_url``."""

    def __init__(self, upstream: str):
        self.upstream = urllib.parse.urlsplit(upstream)
        self.calls: collections.Counter[str] = collections.Counter()
        self.hang = False
        self._stop = threading.Event()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                operation = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
                with proxy._lock:
                    proxy.calls[operation] += 1
                if proxy.hang:
                    proxy._stop.wait()  # never answers while the proxy runs
                    return
                status, headers, answer = proxy._forward(
                    self.command, self.path, self.headers, body
                )
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):  # quiet
                pass

        self._lock = threading.Lock()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _forward(self, method, path, headers, body):
        connection = http.client.HTTPConnection(
            self.upstream.hostname, self.upstream.port, timeout=10
        )
        try:
            connection.request(
                method, path, body, {k: v for k, v in headers.items() if k.lower() != "host"}
            )
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def count(self, operation: str = "GetSecretValue") -> int:
        with self._lock:
            return self.calls[operation]

    def stop(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
