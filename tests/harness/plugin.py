"""pytest plugin (loaded by tests/conftest.py) that wires the test services in.

It is imported while pytest loads the initial conftests, before pytest-django sets Django up, so
the environment it sets here is the one the settings module reads. The services themselves start
lazily, on the first test that asks for them, and stop at the end of the session.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import boto3
import pytest

from . import aws, mariadb

# Which database the Django tests run on: the MariaDB pair (default) or the embedded SQLite.
TEST_DB = os.environ.get("TEST_DB", "mariadb")
if TEST_DB not in ("mariadb", "sqlite"):
    raise pytest.UsageError(f"TEST_DB={TEST_DB!r}: use 'mariadb' (the default) or 'sqlite'")
DB_SECRET_ID = "test/employees/db"

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
    )

# pytest-django sets Django up in its pytest_configure only if the settings are loaded by then.
from django.conf import settings  # noqa: E402

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
    """The pair and the database secret (the app user's credentials) exist; returns its id."""
    put_json_secret(
        boto3.client("secretsmanager"),
        DB_SECRET_ID,
        {"username": mariadb.APP_USER, "password": mariadb.APP_PASSWORD},
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
