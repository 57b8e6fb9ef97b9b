"""Fault drills against the site as deployed: gunicorn with the repo's config and production
settings, the MariaDB pair, the local AWS API behind a counting proxy, and a bounded load."""

import json
import math
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from tests.harness import aws, mariadb, site

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
    returns (secret id, user name, real password). Users and secrets are removed afterwards."""
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
        return secret_id, name, real

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
    secret_id, _, _ = db_user(limits, password="not-the-password" if wrong_password else None)
    result = site.load(serve(DB_SECRET_ID=secret_id), [API], requests=80, concurrency=8)
    _assert_clean_503s(result)
    assert result.statuses[503] > 0, result.statuses
    if not wrong_password:
        assert result.statuses[200] > 0, result.statuses


def _windows(seconds: float) -> int:
    """How many backoff windows (1, 2, 4, ... s) start within ``seconds``: 0, 1, 3, 7, ..."""
    return 1 + int(math.log2(seconds + 1))


def test_a_refused_secret_is_read_again_only_after_a_backoff(serve, db_user, aws_proxy):
    """A persistent 1045 under load costs a bounded number of GetSecretValue calls (AWSCURRENT
    and AWSPENDING once per backoff window), not two per failed connect; all answers are 503."""
    site_ = serve(DB_SECRET_ID=db_user(password="not-the-password")[0])
    started = time.monotonic()
    result = site.load(site_, [API], requests=300, concurrency=8)
    elapsed = time.monotonic() - started
    _assert_clean_503s(result)
    assert result.statuses[503] == 300
    # One first read, then AWSCURRENT + AWSPENDING per window.
    assert aws_proxy.count() <= 1 + 2 * _windows(elapsed), (aws_proxy.count(), elapsed)


@pytest.mark.parametrize("problem", ["not JSON", "missing"])
def test_an_unreadable_secret_is_read_again_only_after_a_backoff(
    serve, db_user, aws_proxy, problem
):
    """A secret that is not JSON with username and password, or does not exist, is fetched once
    per backoff window under load, not once per request; every answer is a clean 503."""
    secret_id = db_user(secret="not json")[0] if problem == "not JSON" else "test/drill/no-such"
    site_ = serve(DB_SECRET_ID=secret_id)
    started = time.monotonic()
    result = site.load(site_, [API, "/readyz"], requests=300, concurrency=8)
    elapsed = time.monotonic() - started
    assert result.server_errors() == 0, result.statuses
    assert result.statuses[503] == 300, result.statuses
    assert aws_proxy.count() <= _windows(elapsed), (aws_proxy.count(), elapsed)


def test_a_fixed_secret_is_picked_up_within_the_first_backoff(serve, db_user, secretsmanager):
    """After a refusal, the secret corrected (the rotation's last step) serves requests again
    within the first backoff window (about a second), whatever the load meanwhile."""
    secret_id, name, password = db_user(password="not-the-password")
    site_ = serve(DB_SECRET_ID=secret_id)
    assert site_.request(API).status == 503
    secretsmanager.put_secret_value(
        SecretId=secret_id, SecretString=json.dumps({"username": name, "password": password})
    )
    statuses = []
    for _ in range(15):  # 3 s at most
        statuses.append(site_.request(API).status)
        if statuses[-1] == 200:
            break
        time.sleep(0.2)
    assert statuses[-1] == 200, statuses


# The target group's health check timeout (infra/edge.py): a slower /healthz counts as a failure.
HEALTH_CHECK_TIMEOUT = 5


def test_healthz_answers_while_secrets_manager_hangs(serve, aws_proxy):
    """With Secrets Manager accepting connections and never answering, requests that need the
    secret fail with 503 within the fetch deadline, and /healthz answers within the health
    check's timeout all along (no thread waits on a network call behind a process-wide lock)."""
    aws_proxy.hang = True
    site_ = serve()
    with ThreadPoolExecutor(1) as prober:
        probes = prober.submit(
            lambda: [
                (time.sleep(0.5), site_.request("/healthz", timeout=HEALTH_CHECK_TIMEOUT))[1]
                for _ in range(12)
            ]
        )
        result = site.load(site_, [API], requests=40, concurrency=8)
        health = probes.result()
    assert [reply.status for reply in health] == [200] * 12
    assert result.statuses == {503: 40}
    assert max(reply.seconds for reply in result.replies) < 10
    assert 1 <= aws_proxy.count() <= 3  # one fetch (boto3's attempts), the others wait on it


@pytest.mark.parametrize(
    ("problem", "cause"),
    [
        ("malformed", "is not JSON with 'username' and 'password'"),
        ("missing", "ResourceNotFoundException"),
        ("refused", "refused the credentials of secret"),
    ],
)
def test_the_503s_log_line_names_the_cause_and_no_secret(serve, db_user, problem, cause):
    """The request's log line of a 503 says what to fix (the secret's shape, its absence, a
    refused password), and no log line of the site carries a password, a host or the value."""
    value = "drill-secret-value-" + uuid.uuid4().hex[:6]
    if problem == "malformed":
        secret_id = db_user(secret=json.dumps({"user": value}))[0]
    elif problem == "missing":
        secret_id = "test/drill/no-such"
    else:
        secret_id = db_user(password=value)[0]
    site_ = serve(DB_SECRET_ID=secret_id)
    reply = site_.request(API, {"X-Amzn-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}"})
    assert reply.status == 503
    time.sleep(0.3)  # the access line is written after the response
    lines = site_.log_lines()
    access = [line for line in lines if line.get("request_id") == reply.headers["X-Request-Id"]]
    assert [line.get("status") for line in access if "status" in line] == [503]
    assert any(cause in line.get("cause", "") for line in access if "status" in line), access
    assert any(cause in line["message"] for line in access if line["level"] == "WARNING"), access
    text = json.dumps(lines)
    for forbidden in (value, "127.0.0.1", "localhost", mariadb.APP_PASSWORD):
        assert forbidden not in text
