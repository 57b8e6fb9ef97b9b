"""deploy/bootstrap/bootstrap.sh in a sandbox root, against the MariaDB pair and the local AWS API.

The script runs for real from the unpacked project artifact, as the launch template's user data
runs it, with two differences: OS packages are skipped (BOOTSTRAP_SKIP_PACKAGES=1), and the
commands that change the machine are fakes put first on PATH (tests/deploy/fakes): systemctl runs
the rendered unit's ExecStart in the background as systemd would set it up, cfn-signal records its
arguments and what /readyz answers at that moment, useradd/getent/runuser act on a fake user list.
The release's venv is made before the run with a .pth file pointing at this environment's
packages (the locked versions are the installed ones), so the script's own pip step installs the
wheel from the artifact without reaching a package index.
"""

from __future__ import annotations

import http.client
import http.server
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import boto3
import pytest
import yaml
from django.db import connections

from deploy import artifact
from tests.harness.aws import free_port

PROJECT = Path(__file__).resolve().parents[2]
FAKES = Path(__file__).parent / "fakes"
KEY_SECRET_ID = "test/employees/bootstrap-secret-key"
SERVICE = "employees-site.service"

# The served site uses the test database, which pytest-django creates only for marked tests.
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "reader"])


@pytest.fixture(scope="module")
def project_artifact() -> bytes:
    """The project's own artifact: wheel, lock and deploy/bootstrap/."""
    return artifact.build(PROJECT).data


@pytest.fixture(scope="module")
def site_env(db_secret, django_db_setup, django_db_blocker) -> dict[str, str]:
    """What the user data writes to /etc/employees-site/env, for the test services."""
    client = boto3.client("secretsmanager")
    key = uuid.uuid4().hex * 2
    try:
        client.create_secret(Name=KEY_SECRET_ID, SecretString=key)
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=KEY_SECRET_ID, SecretString=key)
    with django_db_blocker.unblock():
        database = connections["default"].settings_dict["NAME"]
    local = {
        name: os.environ[name]
        for name in os.environ
        if name.startswith(("DB_", "AWS_")) and name != "DB_NAME"
    }
    return {
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY_SECRET_ID": KEY_SECRET_ID,
        "DJANGO_ALLOWED_HOSTS": "employees.example.com",
        "DJANGO_CSRF_TRUSTED_ORIGINS": "https://employees.example.com",
        "DJANGO_HTTPS": "true",
        **local,  # writer, reader, secret id, Region; here also the local AWS API and its keys
        "DB_NAME": database,
        "APP_LOG_GROUP": "test-app-logs",
        "GUNICORN_LOG_GROUP": "test-gunicorn-logs",
        # The tests are the load balancer here: they connect from loopback.
        "FORWARDED_ALLOW_IPS": "127.0.0.0/8",
    }


@dataclass
class Sandbox:
    root: Path
    release: Path
    state: Path
    env_file: Path
    port: int
    extra: dict[str, str] = field(default_factory=dict)  # environment of every run

    @property
    def unit(self) -> Path:
        return self.root / "etc/systemd/system" / SERVICE

    def write_env(self, values: dict[str, str]) -> None:
        self.env_file.parent.mkdir(parents=True, exist_ok=True)
        text = "".join(f"{name}={value}\n" for name, value in values.items())
        self.env_file.write_text(text)
        self.env_file.chmod(0o640)

    def run(
        self, timeout: float = 240, ready_timeout: int = 60, **extra: str
    ) -> subprocess.CompletedProcess:
        """Run the bootstrap; ``extra`` adds environment (BOOTSTRAP_IMDS_URL=...)."""
        env = {
            **os.environ,
            **self.extra,
            **extra,
            "PATH": f"{FAKES}:{os.environ['PATH']}",
            "BOOTSTRAP_ROOT": str(self.root),
            "BOOTSTRAP_SKIP_PACKAGES": "1",
            "BOOTSTRAP_BIND_HOST": "127.0.0.1",
            "BOOTSTRAP_READY_TIMEOUT": str(ready_timeout),
            "FAKE_STATE": str(self.state),
            "FAKE_READYZ_URL": f"http://127.0.0.1:{self.port}/readyz",
        }
        script = self.release / "deploy/bootstrap/bootstrap.sh"
        argv = ["bash", str(script), str(self.env_file), "web-AppStack-X1", "AutoScalingGroup"]
        return subprocess.run(
            [*argv, "eu-west-1"], env=env, capture_output=True, text=True, timeout=timeout
        )

    def calls(self, command: str | None = None) -> list[dict]:
        path = self.state / "calls.jsonl"
        lines = path.read_text().splitlines() if path.exists() else []
        calls = [json.loads(line) for line in lines]
        return [call for call in calls if command in (None, call["argv"][0])]

    def gunicorn_pid(self) -> int | None:
        path = self.state / f"{SERVICE}.pid"
        return int(path.read_text()) if path.exists() else None

    def stop(self) -> None:
        """Stop the gunicorn the fake systemctl started, by its PID."""
        pid = self.gunicorn_pid()
        if pid is None:
            return
        for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and _running(pid):
                time.sleep(0.1)
            if not _running(pid):
                return


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _sandbox(
    directory: Path, project_artifact: bytes, site_env: dict[str, str], *, venv: bool = True
) -> Sandbox:
    """An unpacked release under a sandbox root, as the user data leaves it, and its env file;
    with ``venv``, a venv that sees this environment's packages (the install finds them there)."""
    root = directory / "root"
    release = root / "opt/employees-site/releases" / "employees_platform-0123abcd"
    release.mkdir(parents=True)
    # As the user data does it: python3 -m zipfile -e (no file modes kept).
    with zipfile.ZipFile(io.BytesIO(project_artifact)) as archive:
        archive.extractall(release)
    if venv:
        # No pip of its own: the .pth below brings this environment's, and the locked packages.
        subprocess.run(
            [sys.executable, "-m", "venv", "--without-pip", str(release / "venv")], check=True
        )
        site_packages = next((release / "venv/lib").glob("python3*/site-packages"))
        (site_packages / "test-environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    state = directory / "fake-state"
    state.mkdir()
    port = free_port()
    box = Sandbox(root, release, state, root / "etc/employees-site/env", port)
    box.write_env({**site_env, "APP_PORT": str(port)})
    return box


class FakeImds:
    """IMDSv2 on loopback: a token, the MAC, the VPC's CIDR blocks; the first ``failures``
    requests answer 500 (a throttled or still starting metadata service)."""

    def __init__(self, failures: int, cidrs: str = "127.0.0.0/8"):
        self.failures = failures
        self.requests: list[str] = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                fake.requests.append(f"{self.command} {self.path}")
                body, status = self._body()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _body(self) -> tuple[bytes, int]:
                if len(fake.requests) <= fake.failures:
                    return b"busy", 500
                if self.path == "/latest/api/token" and self.command == "PUT":
                    return b"token-1", 200
                if self.headers.get("X-aws-ec2-metadata-token") != "token-1":
                    return b"", 401
                if self.path == "/latest/meta-data/mac":
                    return b"0a:00:00:00:00:01", 200
                if self.path.endswith("/0a:00:00:00:00:01/vpc-ipv4-cidr-blocks"):
                    return cidrs.encode(), 200
                return b"", 404

            do_GET = do_PUT = _answer

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def booted(tmp_path_factory, project_artifact, site_env):
    """A sandbox after one bootstrap run: (sandbox, the run, the fake commands' calls). The
    load balancer's addresses come from a metadata service that fails twice first."""
    env = {name: value for name, value in site_env.items() if name != "FORWARDED_ALLOW_IPS"}
    box = _sandbox(tmp_path_factory.mktemp("booted"), project_artifact, env)
    imds = FakeImds(failures=2)
    try:
        box.extra = {"BOOTSTRAP_IMDS_URL": imds.url, "BOOTSTRAP_IMDS_PAUSES": "0.2 0.2 0.2"}
        result = box.run()
        yield box, result, box.calls()
    finally:
        box.stop()
        imds.close()


@pytest.fixture
def sandbox(tmp_path, project_artifact, site_env):
    box = _sandbox(tmp_path, project_artifact, site_env)
    yield box
    box.stop()


def _unit(path: Path) -> dict[str, list[str]]:
    entries: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            entries.setdefault(key, []).append(value)
    return entries


def _request_lines(log: Path) -> list[dict]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if "path" in line]


def _of(calls: list[dict], command: str) -> list[dict]:
    return [call for call in calls if call["argv"][0] == command]


def test_bootstrap_serves_readyz_then_signals_success(booted):
    """The rendered unit serves /readyz 200 from the installed wheel before cfn-signal 0."""
    sandbox, result, calls = booted
    assert result.returncode == 0, result.stdout + result.stderr
    [signal_call] = _of(calls, "cfn-signal")
    assert signal_call["argv"][1:] == [
        *("--exit-code", "0", "--stack", "web-AppStack-X1"),
        *("--resource", "AutoScalingGroup", "--region", "eu-west-1"),
    ]
    assert signal_call["readyz"] == 200  # the site was ready while the signal was sent
    log = sandbox.root / "var/log/employees-site/app.log"
    # The bootstrap's own probe (curl) got its 200 before cfn-signal was invoked.
    probes = [
        line
        for line in _request_lines(log)
        if line["path"] == "/readyz" and line["user_agent"].startswith("curl/")
    ]
    assert probes and probes[-1]["status"] == 200
    answered = datetime.fromisoformat(probes[-1]["time"].replace("Z", "+00:00")).timestamp()
    assert answered < signal_call["time"]
    # The gunicorn serving it runs the wheel installed in the release's venv, not this checkout.
    pid = sandbox.gunicorn_pid()
    environ = dict(
        item.split("=", 1)
        for item in Path(f"/proc/{pid}/environ").read_text().split("\0")
        if "=" in item
    )
    assert environ["DJANGO_SETTINGS_MODULE"] == "employees_site.settings"
    assert environ["DJANGO_ENV"] == "production"
    assert environ["FORWARDED_ALLOW_IPS"] == "127.0.0.0/8"
    assert "PYTHONPATH" not in environ
    # The web processes have the application user's secret only; the master's went to migrate.
    written = dict(line.split("=", 1) for line in sandbox.env_file.read_text().splitlines())
    assert environ["DB_SECRET_ID"] == written["DB_SECRET_ID"]
    assert written["DB_MIGRATE_SECRET_ID"] and "DB_MIGRATE_SECRET_ID" not in environ
    web_env = sandbox.env_file.with_name("web.env")
    assert "DB_MIGRATE_SECRET_ID" not in web_env.read_text()
    assert web_env.stat().st_mode & 0o077 == 0
    venv = sandbox.release / "venv"
    installed = list((venv / "lib").glob("python3*/site-packages/employees_site/gunicorn.conf.py"))
    assert len(installed) == 1
    static = list((venv / "lib").glob("python3*/site-packages/staticfiles/staticfiles.json"))
    assert len(static) == 1  # collectstatic ran with the manifest storage
    # The steps that change the machine, in order, each once.
    verbs = [call["argv"][1] for call in _of(calls, "systemctl")]
    assert verbs == ["daemon-reload", "enable", "restart"]
    assert [c["argv"][1:3] for c in _of(calls, "runuser")] == [["-u", "employees-site"]]
    [useradd] = _of(calls, "useradd")
    assert useradd["argv"][-1] == "employees-site" and "--system" in useradd["argv"]


def test_installed_wheel_renders_the_employee_list(booted):
    """The site served from the artifact's wheel renders its HTML pages, not only JSON."""
    sandbox, _, _ = booted
    headers = {"Host": "employees.example.com", "X-Forwarded-Proto": "https"}
    connection = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=10)
    try:
        connection.request("GET", "/", headers=headers)
        status = connection.getresponse().status
    finally:
        connection.close()
    assert status == 200


def test_rendered_unit_runs_gunicorn_unprivileged_and_hardened(booted):
    """The unit: the service user, the env file, restart on failure, HUP reload, hardening."""
    sandbox, _, _ = booted
    unit = _unit(sandbox.unit)
    venv = sandbox.release / "venv"
    assert unit["User"] == ["employees-site"] and unit["Group"] == ["employees-site"]
    assert unit["EnvironmentFile"] == [str(sandbox.env_file.with_name("web.env"))]
    [start] = unit["ExecStart"]
    assert start.startswith(f"{venv}/bin/python -I -m gunicorn --config {venv}/lib/python3")
    assert start.endswith(f"/employees_site/gunicorn.conf.py --bind 127.0.0.1:{sandbox.port}")
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert unit["Restart"] == ["on-failure"]
    for option in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices"):
        assert unit[option] == ["yes"], option
    assert unit["ProtectSystem"] == ["strict"]
    assert unit["CapabilityBoundingSet"] == [""]
    logs = sandbox.root / "var/log/employees-site"
    assert unit["StandardOutput"] == [f"append:{logs}/app.log"]
    assert unit["StandardError"] == [f"append:{logs}/gunicorn.log"]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_rendered_unit_passes_systemd_analyze_verify_and_security(booted):
    """systemd-analyze verify finds nothing wrong in the rendered unit; its exposure is low."""
    sandbox, _, _ = booted
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(sandbox.unit)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert f"{SERVICE}:" not in result.stderr, result.stderr
    # Its exposure score stays "OK" (2.0 of 10 at most; 1.0 would need no network at all).
    security = ["systemd-analyze", "security", "--offline=yes", "--threshold=20"]
    result = subprocess.run([*security, str(sandbox.unit)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:]


def test_cloudwatch_agent_ships_app_and_gunicorn_logs(booted):
    """The agent is configured with the env file's log groups for the files systemd writes."""
    sandbox, _, calls = booted
    [call] = _of(calls, "amazon-cloudwatch-agent-ctl")
    config_path = sandbox.root / "etc/employees-site/cloudwatch-agent.json"
    assert call["argv"][1:] == [
        *("-a", "fetch-config", "-m", "ec2", "-s", "-c", f"file:{config_path}")
    ]
    collected = json.loads(config_path.read_text())["logs"]["logs_collected"]["files"]
    logs = sandbox.root / "var/log/employees-site"
    shipped = {(f["file_path"], f["log_group_name"]) for f in collected["collect_list"]}
    assert shipped == {
        (f"{logs}/app.log", "test-app-logs"),
        (f"{logs}/gunicorn.log", "test-gunicorn-logs"),
        (f"{logs}/bootstrap.log", "test-gunicorn-logs"),
    }
    assert "Booting worker" in (logs / "gunicorn.log").read_text()


def test_second_run_redoes_nothing_and_keeps_the_server(booted):
    """Re-running (a reboot) installs, migrates, restarts nothing; it signals success again."""
    sandbox, first, _ = booted
    assert first.returncode == 0
    pid = sandbox.gunicorn_pid()
    unit_mtime = sandbox.unit.stat().st_mtime_ns
    calls_before = len(sandbox.calls())
    again = sandbox.run()
    assert again.returncode == 0, again.stdout + again.stderr
    for said in ("already installed", "already collected", "already migrated", "already config"):
        assert said in again.stdout
    assert "Successfully installed" not in again.stdout
    new_calls = [call["argv"][:2] for call in sandbox.calls()[calls_before:]]
    assert new_calls == [
        ["systemctl", "enable"],
        ["systemctl", "start"],
        ["cfn-signal", "--exit-code"],
    ]
    assert sandbox.gunicorn_pid() == pid and _running(pid)
    assert sandbox.unit.stat().st_mtime_ns == unit_mtime


def test_changed_environment_restarts_the_server_with_it(booted, site_env):
    """A re-run with a new env file restarts gunicorn (nothing else) and the new one has it."""
    sandbox, _, _ = booted
    pid = sandbox.gunicorn_pid()
    origin = "https://staff.example.com"
    sandbox.write_env(
        {**site_env, "APP_PORT": str(sandbox.port), "DJANGO_CSRF_TRUSTED_ORIGINS": origin}
    )
    calls_before = len(sandbox.calls())
    result = sandbox.run()
    assert result.returncode == 0, result.stdout + result.stderr
    new_calls = [call["argv"][:2] for call in sandbox.calls()[calls_before:]]
    assert new_calls == [
        ["systemctl", "enable"],
        ["systemctl", "restart"],
        ["cfn-signal", "--exit-code"],
    ]
    assert sandbox.calls()[-1]["readyz"] == 200
    new_pid = sandbox.gunicorn_pid()
    assert new_pid != pid and not _running(pid)
    assert f"DJANGO_CSRF_TRUSTED_ORIGINS={origin}\0" in Path(f"/proc/{new_pid}/environ").read_text()


def test_unreachable_database_signals_failure_with_the_reason(sandbox, site_env):
    """With the writer unreachable, migrate fails: cfn-signal 1 names it; nothing is started."""
    closed = str(free_port())
    sandbox.write_env(
        {**site_env, "APP_PORT": str(sandbox.port), "DB_WRITER_PORT": closed,
         "DB_READER_PORT": closed}
    )  # fmt: skip
    (sandbox.root / "dev").mkdir(exist_ok=True)  # the instance's console, in the sandbox
    result = sandbox.run()
    assert result.returncode == 1
    # The API drops cfn-signal's reason; the console (get-console-output) keeps it.
    console = (sandbox.root / "dev" / "console").read_text()
    assert "signal 1: migrate failed: " in console and "Can't connect to" in console
    [signal_call] = sandbox.calls("cfn-signal")
    argv = signal_call["argv"]
    assert argv[1:3] == ["--exit-code", "1"]
    reason = argv[argv.index("--reason") + 1]
    assert reason.startswith("migrate failed: ")
    assert "Can't connect to" in reason, reason
    assert not [c for c in sandbox.calls("systemctl") if c["argv"][1] in ("start", "restart")]
    assert sandbox.gunicorn_pid() is None


def test_readyz_that_never_answers_200_signals_failure_in_bounded_time(sandbox, site_env):
    """Reader unreachable: gunicorn starts, /readyz stays 503, the wait ends with the reason."""
    closed = str(free_port())
    sandbox.write_env({**site_env, "APP_PORT": str(sandbox.port), "DB_READER_PORT": closed})
    started = time.monotonic()
    result = sandbox.run(ready_timeout=4)
    assert result.returncode == 1
    assert time.monotonic() - started < 60
    [signal_call] = sandbox.calls("cfn-signal")
    argv = signal_call["argv"]
    assert argv[1:3] == ["--exit-code", "1"]
    assert signal_call["readyz"] == 503
    reason = argv[argv.index("--reason") + 1]
    assert reason.startswith(f"waiting for http://127.0.0.1:{sandbox.port}/readyz failed: ")
    assert "no 200 from /readyz in 4s (last: 503 " in reason
    assert '"reader": "fallback' in reason


def test_a_fresh_instance_installs_everything_from_the_artifact_offline(
    tmp_path, project_artifact, site_env, record_property
):
    """With no package index reachable (every proxy a closed port), the bootstrap makes a fresh
    venv and installs the wheel, the locked wheels and mysqlclient's source from the artifact
    only (--no-index --require-hashes), then boots and signals success. Logs the install time."""
    box = _sandbox(tmp_path, project_artifact, site_env, venv=False)
    closed = f"http://127.0.0.1:{free_port()}"
    try:
        result = box.run(
            timeout=600,
            BOOTSTRAP_PYTHON=sys._base_executable,
            HTTP_PROXY=closed, HTTPS_PROXY=closed, http_proxy=closed, https_proxy=closed,
            NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost",
        )  # fmt: skip
    finally:
        box.stop()
    log = result.stdout
    assert result.returncode == 0, log[-3000:]
    [signal_call] = box.calls("cfn-signal")
    assert signal_call["argv"][1:3] == ["--exit-code", "0"]
    site_packages = next((box.release / "venv/lib").glob("python3*/site-packages"))
    assert not any("test-environment" in pth.name for pth in site_packages.glob("*.pth"))
    assert list(site_packages.glob("MySQLdb/_mysql*.so"))  # compiled here from the sdist
    assert list(site_packages.glob("employees_site/gunicorn.conf.py"))
    seconds = int(re.search(r"installed from the artifact in (\d+)s", log).group(1))
    record_property("offline_install_seconds", seconds)
    print(f"offline install from the artifact: {seconds}s")  # shown with pytest -s / -rP


def test_a_tampered_file_in_the_artifact_fails_the_boot(tmp_path, project_artifact, site_env):
    """A wheel whose bytes differ from the lock's hash is refused (--require-hashes): the boot
    fails with signal 1 and pip's reason, and nothing is started."""
    box = _sandbox(tmp_path, project_artifact, site_env, venv=False)
    [wheel] = (box.release / "wheelhouse").glob("sqlparse-*.whl")
    wheel.write_bytes(wheel.read_bytes() + b"tampered")
    result = box.run(timeout=300, BOOTSTRAP_PYTHON=sys._base_executable)
    assert result.returncode == 1
    assert "DO NOT MATCH THE HASHES" in result.stdout
    [signal_call] = box.calls("cfn-signal")
    argv = signal_call["argv"]
    assert argv[1:3] == ["--exit-code", "1"]
    assert argv[argv.index("--reason") + 1].startswith("virtualenv and locked dependencies failed")
    assert box.gunicorn_pid() is None


def test_metadata_that_never_answers_fails_the_boot_with_the_reason(sandbox, site_env):
    """Without FORWARDED_ALLOW_IPS and with IMDS failing on every try, the boot fails (signal 1,
    the reason names IMDS) instead of trusting 127.0.0.1, before anything is installed."""
    sandbox.write_env(
        {name: value for name, value in site_env.items() if name != "FORWARDED_ALLOW_IPS"}
        | {"APP_PORT": str(sandbox.port)}
    )
    imds = FakeImds(failures=1000)
    try:
        result = sandbox.run(BOOTSTRAP_IMDS_URL=imds.url, BOOTSTRAP_IMDS_PAUSES="0.1 0.1")
    finally:
        imds.close()
    assert result.returncode == 1
    assert imds.requests == ["PUT /latest/api/token"] * 3  # retried, then given up
    [signal_call] = sandbox.calls("cfn-signal")
    argv = signal_call["argv"]
    assert argv[1:3] == ["--exit-code", "1"]
    reason = argv[argv.index("--reason") + 1]
    assert reason.startswith("load balancer addresses (FORWARDED_ALLOW_IPS) failed: instance ")
    assert "metadata api/token unreachable after 3 attempts" in reason
    assert "500" in reason
    assert not list((sandbox.release / "venv/lib").glob("python3*/site-packages/employees_site"))
    assert not sandbox.unit.exists()


def _seconds(iso_duration: str) -> int:
    """PT20M, PT1H, PT90S as seconds."""
    match = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?", iso_duration)
    assert match, iso_duration
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def test_the_boot_time_budget_fits_the_compiled_signal_timeout():
    """Package install, pip install, migrate lock wait, readiness wait and the metadata retries
    add up to less than the app template's signal timeout, leaving the stated margin."""
    script = (PROJECT / "deploy/bootstrap/bootstrap.sh").read_text()

    def number(name: str) -> float:
        match = re.search(rf"^{name}=(?:\$\{{\w+:-)?(\d+)", script, re.MULTILINE)
        assert match, f"bootstrap.sh states no {name}"
        return float(match.group(1))

    pauses = re.search(r"BOOTSTRAP_IMDS_PAUSES:-([\d .]+)\}", script).group(1).split()
    # Three metadata calls, each: one try more than there are pauses, 2 s a try, plus the pauses.
    imds = 3 * ((len(pauses) + 1) * 2 + sum(float(p) for p in pauses))
    waits = sum(
        number(name)
        for name in ("PACKAGES_TIMEOUT", "INSTALL_TIMEOUT", "MIGRATE_LOCK_TIMEOUT", "READY_TIMEOUT")
    )
    app = yaml.safe_load((PROJECT / "templates_out/app.yaml").read_text())
    group = app["Resources"]["AutoScalingGroup"]
    creation = _seconds(group["CreationPolicy"]["ResourceSignal"]["Timeout"])
    rolling = _seconds(group["UpdatePolicy"]["AutoScalingRollingUpdate"]["PauseTime"])
    margin = number("BUDGET_MARGIN")
    assert margin >= 120  # user data, collectstatic, the migrations themselves, gunicorn start
    assert imds + waits + margin <= min(creation, rolling), (imds, waits, margin, creation)
    # The migrate is told its lock wait: the command's own default (600 s) would not fit.
    assert '--lock-timeout "$MIGRATE_LOCK_TIMEOUT"' in script


def test_bootstrap_and_rendered_manage_wrapper_are_shellcheck_clean(booted):
    """shellcheck passes on the bootstrap script and on the wrapper it renders."""
    sandbox, _, _ = booted
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is needed: apt-get install shellcheck (make setup does it)"
    wrapper = sandbox.root / "usr/local/bin/employees-site-manage"
    bootstrap = PROJECT / "deploy/bootstrap/bootstrap.sh"
    argv = [shellcheck, str(bootstrap), str(wrapper)]
    result = subprocess.run(argv, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_artifact_carries_the_bootstrap(project_artifact):
    """The artifact holds deploy/bootstrap/ at the path the user data runs it from."""
    with zipfile.ZipFile(io.BytesIO(project_artifact)) as archive:
        names = archive.namelist()
        mode = archive.getinfo("deploy/bootstrap/bootstrap.sh").external_attr >> 16
    assert "deploy/bootstrap/bootstrap.sh" in names
    assert "deploy/bootstrap/employees-site.service.in" in names
    assert mode == 0o755
