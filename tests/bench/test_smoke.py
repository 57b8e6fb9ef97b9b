"""The benchmark harness runs end to end on tiny sizes. Nothing here looks at speed."""

import json
import shutil
import subprocess
import sys
from numbers import Real

import pytest

from tests.bench.services import ROOT, clean_environment
from tests.harness.mariadb import PortClaim

# A pair of its own, beside the tests' pairs (13306 up) and a full `make bench` (23306/23307);
# claimed, so two test sessions running the smoke at once take different ports.
SMOKE_FIRST_PORT = 23316

pytestmark = pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (Debian package wrk)"
)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    claim = PortClaim(SMOKE_FIRST_PORT)
    ports = f"{claim.primary_port},{claim.replica_port}"
    try:
        completed = _run_bench(out, ports)
    finally:
        claim.release()
    assert completed.returncode == 0, completed.stderr[-5000:]
    return json.loads((out / "bench-results.json").read_text()), (out / "BENCHMARKS.md")


def _run_bench(out, ports):
    return subprocess.run(
        [
            *(sys.executable, "-m", "tests.bench", "--out", str(out)),
            *("--rows", "2000", "--seconds", "1", "--warmup", "0", "--rounds", "1"),
            *("--samples", "3", "--ports", ports, "--no-keep", "--no-lint"),
            # Profiles and the start-up burst run in `make bench` only: they would double this.
            *("--profile", "never"),
        ],
        cwd=ROOT,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and value >= 0


def test_every_figure_is_written(results):
    """bench-results.json has one key per figure plus the machine, the run and the goals."""
    data, _ = results
    assert set(data) >= {
        "machine",
        "run",
        "seed",
        "throughput",
        "secrets_manager_calls",
        "read_share",
        "deep_pagination",
        "admin_changelist",
        "templates",
        "goals",
        "profiles",
    }


def test_figures_have_sane_types(results):
    """Counts, times and ratios are non-negative numbers; the three apps agree on the JSON."""
    data, _ = results
    assert data["seed"]["rows"] == 2000 and _number(data["seed"]["rows_per_second"])
    throughput = data["throughput"]
    assert throughput["same_json"] is True
    for app in ("site", "blog_way", "floor"):
        assert throughput[app]["requests"] > 0
        assert all(_number(throughput[app][key]) for key in ("rps", "p50_ms", "p99_ms"))
        calls = data["secrets_manager_calls"][app]
        assert all(_number(calls[key]) for key in ("per_1000_requests", "per_process"))
    assert throughput["site_html"]["requests"] > 0
    ratios = ("site_over_blog_way", "site_over_floor", "html_over_floor", "html_cost_over_api")
    assert all(_number(throughput[key]) for key in ratios)
    assert 0 <= data["read_share"]["reader_share"] <= 1
    deep = data["deep_pagination"]
    assert deep["orm"]["same_rows_both_ways"] is True
    assert all(_number(deep["api"][key]) for key in ("first_ms", "deep_ms", "deep_over_first"))
    assert _number(deep["orm"]["offset"]["deep_ms"])
    admin = data["admin_changelist"]
    assert _number(admin["first_page_ms"]) and _number(admin["search_ms"])
    assert data["templates"]["build_ok"] is True and data["templates"]["stacks"]
    assert all(isinstance(goal["met"], bool) for goal in data["goals"])
    assert data["profiles"] == {}


def test_benchmarks_md_has_a_section_per_figure(results):
    """BENCHMARKS.md renders the summary, each figure and the method."""
    _, markdown = results
    text = markdown.read_text()
    for heading in (
        "## Summary",
        "## 1.",
        "## 2.",
        "## 3.",
        "## 4.",
        "## 5.",
        "## 6.",
        "## 7.",
        "## Where the time goes",
        "## Method",
    ):
        assert heading in text
