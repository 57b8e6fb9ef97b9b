import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connections

from employees_site import aws
from employees_site.db import credentials
from tests.harness import mariadb
from tests.harness.plugin import DB_SECRET_ID

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def secret_calls(aws_server):
    """Every Secrets Manager API call the site's credential client makes, by operation name."""
    calls: list[str] = []

    def record(model, **kwargs):
        calls.append(model.name)

    client = aws.secrets_client(os.environ["AWS_REGION"])
    client.meta.events.register("before-call.secrets-manager", record)
    yield calls
    client.meta.events.unregister("before-call.secrets-manager", record)


@pytest.fixture
def empty_database(mariadb_pair, db_secret):
    """A new empty database on the pair, dropped afterwards."""
    name = f"test_app_{uuid.uuid4().hex[:8]}"
    mariadb_pair.primary.execute(f"CREATE DATABASE `{name}`")
    yield name
    mariadb_pair.primary.execute(f"DROP DATABASE `{name}`")


@pytest.fixture
def fresh_credentials():
    """No cached secret and no open connection: the next query connects and fetches anew."""
    credentials.clear()
    connections.close_all()
    yield
    credentials.clear()
    connections.close_all()


@pytest.fixture
def rotate(mariadb_pair, secretsmanager):
    """Change the app user's password on the pair; restore password and secret afterwards."""

    def change(password: str, stage: str = "AWSCURRENT") -> None:
        mariadb_pair.primary.execute(
            f"ALTER USER '{mariadb.APP_USER}'@'127.0.0.1' IDENTIFIED BY '{password}'"
        )
        mariadb_pair.wait_for_replica()
        secretsmanager.put_secret_value(
            SecretId=DB_SECRET_ID,
            SecretString=json.dumps({"username": mariadb.APP_USER, "password": password}),
            VersionStages=[stage],
        )

    yield change
    change(mariadb.APP_PASSWORD)
    # A drill's AWSPENDING label must not outlive it: the next rotation test would find it.
    stages = secretsmanager.describe_secret(SecretId=DB_SECRET_ID)["VersionIdsToStages"]
    for version, labels in stages.items():
        if "AWSPENDING" in labels:
            secretsmanager.update_secret_version_stage(
                SecretId=DB_SECRET_ID, VersionStage="AWSPENDING", RemoveFromVersionId=version
            )
    credentials.clear()


def manage(*args, timeout=120, **env):
    """Run manage.py in a child process with the test environment plus ``env``."""
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
