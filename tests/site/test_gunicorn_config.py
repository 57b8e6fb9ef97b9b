"""The gunicorn config fits the load balancer the templates build: keep-alive, graceful shutdown."""

import multiprocessing
import runpy
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG = runpy.run_path(str(ROOT / "employees_site/gunicorn.conf.py"))
EDGE = yaml.safe_load((ROOT / "templates_out/edge.yaml").read_text())["Resources"]


def _attributes(resource_type: str, key: str) -> dict[str, str]:
    (resource,) = [r for r in EDGE.values() if r["Type"] == resource_type]
    return {item["Key"]: item["Value"] for item in resource["Properties"].get(key, [])}


def test_keepalive_outlasts_the_load_balancers_idle_timeout():
    """gunicorn keeps idle connections longer than the ALB, so the ALB never reuses a closed one."""
    attributes = _attributes("AWS::ElasticLoadBalancingV2::LoadBalancer", "LoadBalancerAttributes")
    idle_timeout = int(attributes.get("idle_timeout.timeout_seconds", 60))  # the ALB's default
    assert CONFIG["keepalive"] > idle_timeout


def test_graceful_shutdown_fits_in_the_deregistration_delay():
    """Workers finish in-flight requests before the target group stops waiting for them."""
    attributes = _attributes("AWS::ElasticLoadBalancingV2::TargetGroup", "TargetGroupAttributes")
    delay = int(attributes["deregistration_delay.timeout_seconds"])
    assert CONFIG["graceful_timeout"] < delay
    assert CONFIG["timeout"] <= delay


def test_workers_and_threads_follow_the_cpus_and_recycle_with_jitter():
    """A process per CPU (at least 2) with threads, recycled with jitter, on port 8000."""
    assert CONFIG["workers"] == max(2, multiprocessing.cpu_count())
    assert CONFIG["worker_class"] == "gthread" and CONFIG["threads"] > 1
    assert CONFIG["max_requests"] > 0 and CONFIG["max_requests_jitter"] > 0
    assert CONFIG["bind"].endswith(":8000")
