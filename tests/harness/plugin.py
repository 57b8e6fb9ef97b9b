"""pytest plugin (loaded by tests/conftest.py) that wires the test services in.

It is imported while pytest loads the initial conftests, before pytest-django sets Django up, so
the environment it sets here is the one the settings module reads. The services themselves start
lazily, on the first test that asks for them, and stop at the end of the session.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from . import aws, mariadb, site

# Which database the Django tests run on: the MariaDB pair (default) or the embedded SQLite.
TEST_DB = os.environ.get("TEST_DB", "mariadb")
if TEST_DB not in ("mariadb", "sqlite"):
    raise pytest.UsageError(f"TEST_DB={TEST_DB!r}: use 'mariadb' (the default) or 'sqlite'")
DB_SECRET_ID = "test/employees/db"
DB_MIGRATE_SECRET_ID = "test/employees/db-master"

# Tests never reach a real AWS account or database: whatever the shell had is replaced.
_MOTO = aws.MotoServer()
for _name in list(os.environ):
    if _name.startswith(("DB_", "AWS_", "DJANGO_")):
        del os.environ[_name]
os.environ.update(aws.ENVIRONMENT)
os.environ["AWS_ENDPOINT_URL"] = _MOTO.endpoint_url
os.environ["DJANGO_SETTINGS_MODULE"] = "employees_site.settings"
# 13306/13307, or the next free pair when another test session on this machine holds it.
_PORTS = mariadb.PortClaim() if TEST_DB == "mariadb" else None
if _PORTS is not None:
    os.environ.update(
        DB_WRITER_HOST="127.0.0.1",
        DB_WRITER_PORT=str(_PORTS.primary_port),
        DB_READER_HOST="127.0.0.1",
        DB_READER_PORT=str(_PORTS.replica_port),
        DB_NAME=mariadb.APP_DATABASE,
        DB_SECRET_ID=DB_SECRET_ID,
        DB_MIGRATE_SECRET_ID=DB_MIGRATE_SECRET_ID,
    )

# pytest-django sets Django up in its pytest_configure only if the settings are loaded by then.
from django.conf import settings  # noqa: E402
from django.db import connections  # noqa: E402

settings.DATABASES  # noqa: B018


def pytest_unconfigure(config) -> None:
    if _PORTS is not None:
        _PORTS.release()


@pytest.fixture(scope="session")
def aws_server() -> Iterator[aws.MotoServer]:
    """The local AWS API (moto server over HTTP) that AWS_ENDPOINT_URL points at."""
    yield _MOTO.start()
    _MOTO.stop()


@pytest.fixture(scope="session")
def mariadb_pair() -> Iterator[mariadb.MariaDBPair]:
    """The MariaDB primary (writer) and GTID replica (reader) on 127.0.0.1:13306/13307."""
    if _PORTS is None:
        pytest.skip("needs the MariaDB pair; this run is TEST_DB=sqlite")
    pair = mariadb.MariaDBPair(_PORTS.primary_port, _PORTS.replica_port).start()
    yield pair
    pair.close()


@pytest.fixture(scope="session")
def db_secret(mariadb_pair, aws_server) -> str:
    """The pair and both database secrets exist (the app user's, the master's); returns the
    app user's id."""
    client = boto3.client("secretsmanager")
    put_json_secret(
        client, DB_SECRET_ID, {"username": mariadb.APP_USER, "password": mariadb.APP_PASSWORD}
    )
    put_json_secret(
        client,
        DB_MIGRATE_SECRET_ID,
        {"username": mariadb.MASTER_USER, "password": mariadb.MASTER_PASSWORD},
    )
    return DB_SECRET_ID


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, request):
    """Before Django creates the test database: on MariaDB, the pair and the DB secret exist."""
    if TEST_DB == "mariadb":
        request.getfixturevalue("db_secret")


@pytest.fixture(autouse=True)
def reader_considered_up():
    """Each test starts with the reader reachable: one test's outage drill never leaks."""
    from employees_site.db.routing import reader_health

    reader_health.succeeded()


@pytest.fixture
def wait_for_replica(request):
    """A function that blocks until the reader has what the writer committed (SQLite: no-op)."""
    if TEST_DB == "mariadb":
        return request.getfixturevalue("mariadb_pair").wait_for_replica
    return lambda: None


@pytest.fixture
def secretsmanager(aws_server: aws.MotoServer):
    """A boto3 Secrets Manager client on the local AWS API."""
    return boto3.client("secretsmanager")


def put_json_secret(client, name: str, value: dict) -> str:
    """Create or update a JSON secret; return its ARN."""
    try:
        return client.create_secret(Name=name, SecretString=json.dumps(value))["ARN"]
    except client.exceptions.ResourceExistsException:
        return client.put_secret_value(SecretId=name, SecretString=json.dumps(value))["ARN"]


@pytest.fixture(scope="module")
def production_env(db_secret, django_db_setup, django_db_blocker, tmp_path_factory):
    """The environment of an instance: production, keys and hosts, the test database."""
    client = boto3.client("secretsmanager")
    key = uuid.uuid4().hex * 2  # 64 characters
    try:
        client.create_secret(Name=site.KEY_SECRET_ID, SecretString=key)
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=site.KEY_SECRET_ID, SecretString=key)
    with django_db_blocker.unblock():
        database = connections["default"].settings_dict["NAME"]
    # The web process of an instance has the application user's secret only (the bootstrap
    # gives the master's to migrate and the manage wrapper alone).
    environment = {k: v for k, v in os.environ.items() if k != "DB_MIGRATE_SECRET_ID"}
    return {
        **environment,
        "DJANGO_ENV": "production",
        "DJANGO_ALLOWED_HOSTS": site.HOST,
        "DJANGO_SECRET_KEY_SECRET_ID": site.KEY_SECRET_ID,
        "DB_NAME": database,
        "DJANGO_STATIC_ROOT": str(tmp_path_factory.mktemp("static")),
    }


@pytest.fixture(scope="module")
def static_files(production_env):
    """collectstatic, as the instance build does, with the production (manifest) storage."""
    result = site.manage(production_env, "collectstatic", "--noinput")
    assert result.returncode == 0, result.stderr
    manifest = Path(production_env["DJANGO_STATIC_ROOT"]) / "staticfiles.json"
    return json.loads(manifest.read_text())["paths"]
