"""Fault drills against the site as deployed: gunicorn with the repo's config and production
settings, the MariaDB pair, the local AWS API behind a counting proxy, and a bounded load."""

import json
import os
import uuid

import pytest
from django.db import connections

from tests.harness import aws, site

pytestmark = [pytest.mark.drill, pytest.mark.django_db(transaction=True)]

HOST = "employees.example.com"
API = "/api/employees/?limit=5"


@pytest.fixture(scope="module")
def fault_env(db_secret, django_db_setup, django_db_blocker):
    """An instance's environment (production, plain HTTP) on the test database."""
    with django_db_blocker.unblock():
        database = connections["default"].settings_dict["NAME"]
    return {
        **os.environ,
        "DJANGO_ENV": "production",
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DJANGO_HTTPS": "false",
        "DJANGO_SECRET_KEY": uuid.uuid4().hex * 2,
        "DB_NAME": database,
    }


@pytest.fixture
def aws_proxy(aws_server):
    """The local AWS API behind a proxy that counts (or stalls) the calls."""
    proxy = aws.CountingProxy(aws_server.endpoint_url)
    yield proxy
    proxy.stop()


@pytest.fixture
def serve(fault_env, aws_proxy, tmp_path):
    """Start the site (4 threads, as deployed) with extra environment; stopped after the test."""
    started = []

    def start(**env) -> site.Gunicorn:
        full = {**fault_env, "AWS_ENDPOINT_URL": aws_proxy.endpoint_url, **env}
        server = site.Gunicorn(
            full, tmp_path / f"gunicorn-{len(started)}.log", host=HOST, threads=4
        )
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def db_user(mariadb_pair, fault_env, secretsmanager):
    """A database user with the given resource limits, and a secret holding its credentials;
    returns the secret id. Users and secrets are removed afterwards."""
    made = []

    def create(limits: str = "", *, password: str | None = None, secret: str | None = None):
        name = f"drill_{uuid.uuid4().hex[:8]}"
        real = uuid.uuid4().hex
        mariadb_pair.primary.execute(
            f"CREATE USER '{name}'@'127.0.0.1' IDENTIFIED BY '{real}' {limits}",
            f"GRANT ALL ON `{fault_env['DB_NAME']}`.* TO '{name}'@'127.0.0.1'",
        )
        mariadb_pair.wait_for_replica()
        secret_id = f"test/drill/{name}"
        value = (
            secret
            if secret is not None
            else json.dumps(
                {"username": name, "password": password if password is not None else real}
            )
        )
        secretsmanager.create_secret(Name=secret_id, SecretString=value)
        made.append((name, secret_id))
        return secret_id

    yield create
    for name, secret_id in made:
        mariadb_pair.primary.execute(f"DROP USER '{name}'@'127.0.0.1'")
        secretsmanager.delete_secret(SecretId=secret_id, ForceDeleteWithoutRecovery=True)
    mariadb_pair.wait_for_replica()


def _assert_clean_503s(result: site.Load) -> None:
    """Every failure is the database condition's 503: Retry-After, JSON on the API."""
    assert result.server_errors() == 0, result.statuses
    for reply in result.replies:
        if reply.status == 503:
            assert reply.headers["Retry-After"].isdigit()
            assert "error" in json.loads(reply.body)


@pytest.mark.parametrize(
    ("condition", "limits", "wrong_password"),
    [
        ("1045 access denied (password changed before the secret)", "", True),
        ("1203 max_user_connections", "WITH MAX_USER_CONNECTIONS 1", False),
        ("1226 max_queries_per_hour", "WITH MAX_QUERIES_PER_HOUR 30", False),
    ],
)
def test_service_conditions_answer_503_never_500(serve, db_user, condition, limits, wrong_password):
    """Under load, a refused login or a connection/query limit answers 503 with Retry-After
    (JSON on the API), never a 500; the limits leave some requests served."""
    secret_id = db_user(limits, password="not-the-password" if wrong_password else None)
    result = site.load(serve(DB_SECRET_ID=secret_id), [API], requests=80, concurrency=8)
    _assert_clean_503s(result)
    assert result.statuses[503] > 0, result.statuses
    if not wrong_password:
        assert result.statuses[200] > 0, result.statuses
