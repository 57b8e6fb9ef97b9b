"""make run: scanners only when the templates changed, and a short banner that ends with where to
go and how."""

import os
import subprocess
import sys
from pathlib import Path

from tests.harness import process
from tests.harness.aws import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_make_run_builds_and_lints_only_what_changed(tmp_path):
    """make run builds the templates and lints them only when a template (or a scanner's pin)
    is newer than the last clean lint: a second run goes straight to serving."""

    def dry_run(*args: str) -> str:
        result = subprocess.run(
            ["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    recipe = dry_run("run")
    assert "-m infra build" in recipe and "manage.py serve" in recipe
    stamp = tmp_path / "linted"
    stamp.touch()  # newer than every template of this checkout
    assert "infra lint" not in dry_run(f"LINT_STAMP={stamp}", str(stamp))
    changed = dry_run(f"LINT_STAMP={stamp}", "-W", "templates_out/edge.yaml", str(stamp))
    assert "-m infra lint" in changed


def test_serve_ends_its_banner_with_the_site_the_admin_and_the_password_reset(tmp_path):
    """The server's last lines name the site, the admin, the login and changepassword."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DB_", "DJANGO_"))  # the embedded SQLite default, as make run
    }
    env["SQLITE_PATH"] = str(tmp_path / "run.sqlite3")
    log = tmp_path / "serve.log"
    port = free_port()
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, cwd=ROOT, check=True, timeout=120)
    server = process.start_logged(
        [*manage, "serve", f"127.0.0.1:{port}", "--noreload"],
        log,
        ready=lambda: "Forgot it?" in log.read_text(),
        name="manage.py serve",
        timeout=60,
        cwd=ROOT,
        env=env,
    )
    try:
        lines = log.read_text().strip().splitlines()
    finally:
        process.stop(server)
    assert len(lines) <= 8, lines
    assert lines[-4].startswith(f"Serving http://127.0.0.1:{port}/")
    assert f"http://127.0.0.1:{port}/admin/" in lines[-2] and "'admin'" in lines[-2]
    assert "manage.py changepassword admin" in lines[-1]
