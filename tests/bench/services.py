"""The bench's services: its own MariaDB pair, a moto server that records its calls, gunicorn.

Everything listens on 127.0.0.1 and is stopped by PID (``close``/``stop``), even on error.
"""

from __future__ import annotations

import base64
import collections
import http.client
import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import boto3

from tests.harness import aws, mariadb, process

ROOT = Path(__file__).resolve().parents[2]
HOST = "bench.internal"  # the Host header of every request (DJANGO_ALLOWED_HOSTS)
KEY_SECRET_ID = "bench/employees/django-secret-key"
# One database secret per app (same credentials), so the calls at the local API say whose they are.
DB_SECRET_IDS = {
    "site": "bench/employees/db-site",
    "blog_way": "bench/employees/db-blog-way",
    "floor": "bench/employees/db-floor",
    "probe": "bench/employees/db-probe",  # the runner's own in-Django measurements
}
# The master user's secret: only the runner's own processes (migrate) get it, as on an instance.
DB_MIGRATE_SECRET_ID = "bench/employees/db-master"
WSGI_APPS = {
    "site": "employees_site.wsgi:application",
    "blog_way": "tests.bench.blog_way:application",
    "floor": "tests.bench.floor:application",
}


def clean_environment() -> dict[str, str]:
    """This process's environment without any database, AWS or Django setting of the shell."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DB_", "AWS_", "DJANGO_", "MOTO_"))
    }


class RecordingMoto(aws.MotoServer):
    """The local AWS API with moto's request recorder on: calls are counted where they arrive.

    The recorder (``/moto-api/recorder/``) appends every request it receives to a file; the
    runner downloads that log and counts GetSecretValue calls by secret id.
    """

    def __init__(self, recording: Path):
        super().__init__()
        self.recording = recording

    def start(self, timeout: float = 20) -> RecordingMoto:
        # moto reads the recorder's file name from its environment, which the child inherits.
        previous = os.environ.get("MOTO_RECORDER_FILEPATH")
        os.environ["MOTO_RECORDER_FILEPATH"] = str(self.recording)
        try:
            super().start(timeout)
        finally:
            if previous is None:
                del os.environ["MOTO_RECORDER_FILEPATH"]
            else:
                os.environ["MOTO_RECORDER_FILEPATH"] = previous
        self._post("/moto-api/recorder/reset-recording")
        self._post("/moto-api/recorder/start-recording")
        return self

    def _post(self, path: str) -> None:
        request = urllib.request.Request(f"{self.endpoint_url}{path}", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def get_secret_value_calls(self) -> collections.Counter:
        """GetSecretValue calls received so far, by secret id."""
        url = f"{self.endpoint_url}/moto-api/recorder/download-recording"
        with urllib.request.urlopen(url, timeout=60) as response:
            lines = response.read().decode().splitlines()
        calls: collections.Counter = collections.Counter()
        for line in lines:
            entry = json.loads(line)
            headers = {key.lower(): value for key, value in entry["headers"].items()}
            if headers.get("x-amz-target") != "secretsmanager.GetSecretValue":
                continue
            body = entry.get("body") or "{}"
            if entry.get("body_encoded"):
                body = base64.b64decode(body).decode()
            calls[json.loads(body).get("SecretId")] += 1
        return calls

    def environment(self) -> dict[str, str]:
        return {**aws.ENVIRONMENT, "AWS_ENDPOINT_URL": self.endpoint_url}

    def create_secrets(self, django_key: str) -> None:
        client = boto3.client(
            "secretsmanager",
            endpoint_url=self.endpoint_url,
            region_name=aws.REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        credentials = json.dumps({"username": mariadb.APP_USER, "password": mariadb.APP_PASSWORD})
        for secret_id in DB_SECRET_IDS.values():
            client.create_secret(Name=secret_id, SecretString=credentials)
        master = json.dumps({"username": mariadb.MASTER_USER, "password": mariadb.MASTER_PASSWORD})
        client.create_secret(Name=DB_MIGRATE_SECRET_ID, SecretString=master)
        client.create_secret(Name=KEY_SECRET_ID, SecretString=django_key)


def app_environment(
    pair: mariadb.MariaDBPair, moto: RecordingMoto, app: str, django_key: str
) -> dict[str, str]:
    """An instance's environment (production, plain HTTP) for ``app``, on the bench pair."""
    return {
        **clean_environment(),
        **moto.environment(),
        "DJANGO_SETTINGS_MODULE": "employees_site.settings",
        "DJANGO_ENV": "production",
        "DJANGO_HTTPS": "false",
        "DJANGO_ALLOWED_HOSTS": HOST,
        # The runner's own Django processes (migrate, seeding, probes) get the key directly,
        # so the secret's calls at the local API are the served site's alone.
        **(
            {"DJANGO_SECRET_KEY": django_key}
            if app == "probe"
            else {"DJANGO_SECRET_KEY_SECRET_ID": KEY_SECRET_ID}
        ),
        "DB_WRITER_HOST": "127.0.0.1",
        "DB_WRITER_PORT": str(pair.primary.port),
        "DB_READER_HOST": "127.0.0.1",
        "DB_READER_PORT": str(pair.replica.port),
        "DB_NAME": mariadb.APP_DATABASE,
        "DB_SECRET_ID": DB_SECRET_IDS[app],
        **({"DB_MIGRATE_SECRET_ID": DB_MIGRATE_SECRET_ID} if app == "probe" else {}),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """``manage.py`` with ``env``; raises with its output when it fails."""
    completed = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{completed.stderr[-3000:]}")
    return completed


class Gunicorn:
    """One app served as the site is: gunicorn with the repo's config (workers, threads, ...)."""

    def __init__(self, app: str, env: dict[str, str], log: Path, *options: str):
        self.app, self.env, self.log = app, env, log
        self.options = options  # command-line settings over the config file's, e.g. --threads
        self.port = aws.free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Gunicorn:
        with open(self.log, "wb") as out:
            self.process = process.start(
                [
                    *(sys.executable, "-m", "gunicorn", "-c", "employees_site/gunicorn.conf.py"),
                    *("--bind", f"127.0.0.1:{self.port}", *self.options, WSGI_APPS[self.app]),
                ],
                ready=self._answers,
                name=f"gunicorn ({self.app})",
                timeout=60,
                diagnose=lambda: f":\n{self.log.read_text(errors='replace')[-3000:]}",
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def _answers(self) -> bool:
        try:
            return self.get("/api/employees/?limit=1")[0] == 200
        except OSError:
            return False

    def get(self, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("GET", path, headers={"Host": HOST, **(headers or {})})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def workers_booted(self) -> int:
        """Worker processes started so far (the first ones and every recycled one)."""
        text = self.log.read_text(errors="replace")
        return len(re.findall(r"Booting worker with pid", text))

    def stop(self) -> None:
        process.stop(self.process)


def com_select(server: mariadb.Server) -> int:
    """The server's SELECT statement counter (SHOW GLOBAL STATUS; not itself a SELECT)."""
    rows = server.execute("SHOW GLOBAL STATUS LIKE 'Com_select'")
    return int(rows[0][1])
