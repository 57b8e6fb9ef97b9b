"""Child processes of the harness: started in their own session, awaited, stopped by PID."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path


class ServiceError(RuntimeError):
    """A test service could not be installed, started or reached."""


def start(
    argv: Sequence[str],
    *,
    ready: Callable[[], bool],
    name: str,
    timeout: float,
    diagnose: Callable[[], str] = lambda: "",
    **popen,
) -> subprocess.Popen:
    """Start ``argv`` and poll ``ready()`` until it is true; on failure stop it and say why."""
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.DEVNULL)
    process = subprocess.Popen(argv, start_new_session=True, **popen)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServiceError(f"{name} exited at start-up (code {process.returncode}){diagnose()}")
        if ready():
            return process
        time.sleep(0.05)
    stop(process)
    raise ServiceError(f"{name} was not ready in {timeout}s{diagnose()}")


def stop(process: subprocess.Popen | None, timeout: float = 30) -> None:
    """SIGTERM, then SIGKILL if it has not exited in ``timeout`` seconds."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


def start_logged(argv: Sequence[str], log: Path, **options) -> subprocess.Popen:
    """``start()`` with stdout and stderr written to ``log``, whose text explains a failed start."""
    with open(log, "wb") as out:
        return start(
            argv,
            diagnose=lambda: f":\n{log.read_text()}",
            stdout=out,
            stderr=subprocess.STDOUT,
            **options,
        )
