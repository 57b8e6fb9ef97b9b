"""The gunicorn config keeps the ALB's rules: keep-alive, graceful shutdown, workers per CPU."""

import multiprocessing
import runpy
from pathlib import Path

CONFIG = runpy.run_path(
    str(Path(__file__).resolve().parents[2] / "employees_site/gunicorn.conf.py")
)
ALB_IDLE_TIMEOUT = 60
DEREGISTRATION_DELAY = 30


def test_keepalive_outlasts_the_alb_idle_timeout():
    """gunicorn keeps idle connections longer than the ALB, so the ALB never reuses a closed one."""
    assert CONFIG["keepalive"] > ALB_IDLE_TIMEOUT


def test_graceful_shutdown_fits_in_the_deregistration_delay():
    """Workers finish in-flight requests before the target group stops waiting."""
    assert CONFIG["graceful_timeout"] < DEREGISTRATION_DELAY
    assert CONFIG["timeout"] <= DEREGISTRATION_DELAY


def test_workers_and_threads_follow_the_cpus_and_recycle_with_jitter():
    """A process per CPU (at least 2) with threads, recycled with jitter, on port 8000."""
    assert CONFIG["workers"] == max(2, multiprocessing.cpu_count())
    assert CONFIG["worker_class"] == "gthread" and CONFIG["threads"] > 1
    assert CONFIG["max_requests"] > 0 and CONFIG["max_requests_jitter"] > 0
    assert CONFIG["bind"].endswith(":8000")
