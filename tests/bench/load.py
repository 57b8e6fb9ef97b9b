"""The load generator: wrk, in its own process, bounded in time, on loopback only."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("report.lua")


class LoadError(RuntimeError):
    """wrk is missing or did not report."""


@dataclass(frozen=True)
class LoadResult:
    requests: int  # complete responses
    bad_status: int  # responses that were not 2xx/3xx
    socket_errors: int  # connect, read and write errors and timeouts
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        """Successful requests per second."""
        return (self.requests - self.bad_status) / self.seconds

    def as_dict(self) -> dict:
        return {
            "requests": self.requests,
            "bad_status": self.bad_status,
            "socket_errors": self.socket_errors,
            "seconds": round(self.seconds, 3),
            "rps": round(self.rps, 1),
            "p50_ms": self.p50_ms,
            "p90_ms": self.p90_ms,
            "p99_ms": self.p99_ms,
            "max_ms": self.max_ms,
        }


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if not found:
        raise LoadError("wrk not found: install the Debian package wrk (make bench does)")
    return found


def run(
    url: str, *, seconds: float, connections: int, threads: int, host: str | None = None
) -> LoadResult:
    """``wrk`` against ``url`` for ``seconds``; the counts and latency percentiles it reports."""
    if not url.startswith("http://127.0.0.1:"):
        raise LoadError(f"the load stays on loopback; refusing {url}")
    argv = [
        wrk_binary(),
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=10s",
        f"--script={SCRIPT}",
    ]
    if host:
        argv.append(f"--header=Host: {host}")
    argv.append(url)
    completed = subprocess.run(
        argv, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if completed.returncode != 0 or not lines:
        raise LoadError(
            f"wrk failed ({completed.returncode}):\n{completed.stdout}{completed.stderr}"
        )
    report = json.loads(lines[-1])
    errors = report["errors"]
    return LoadResult(
        requests=report["requests"],
        bad_status=errors["status"],
        socket_errors=errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
        seconds=report["duration_us"] / 1e6,
        p50_ms=report["p50_us"] / 1000,
        p90_ms=report["p90_us"] / 1000,
        p99_ms=report["p99_us"] / 1000,
        max_ms=report["max_us"] / 1000,
    )
