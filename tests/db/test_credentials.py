"""The MySQL backend's credentials: Secrets Manager, cached, refreshed on 1045 (rotation)."""

import os
import threading
import time
import uuid

import pytest
from django.db import connections

from employees_site import aws
from employees_site.db import credentials
from tests.harness.plugin import DB_SECRET_ID

pytestmark = [pytest.mark.django_db(transaction=True, databases=["default", "reader"])]


def test_connections_use_the_secret_once_per_process(client, fresh_credentials, secret_calls):
    """1,000 requests over persistent connections to both aliases cost one GetSecretValue."""
    for i in range(1000):
        url = "/api/employees/?limit=5" if i % 2 else "/readyz"
        assert client.get(url).status_code == 200
    assert secret_calls == ["GetSecretValue"]


@pytest.mark.drill
def test_rotation_needs_one_refresh_and_fails_no_request(
    client, fresh_credentials, secret_calls, rotate
):
    """After a rotation, open connections keep working and a new one succeeds after one refresh."""
    assert client.get("/api/employees/").status_code == 200
    assert secret_calls == ["GetSecretValue"]
    rotate(f"rotated-{uuid.uuid4().hex}")
    assert client.get("/api/employees/").status_code == 200  # the open connection
    assert len(secret_calls) == 1
    for _ in range(5):
        connections.close_all()  # every request now needs a new connection
        assert client.get("/api/employees/").status_code == 200
    assert secret_calls == ["GetSecretValue", "GetSecretValue"]


@pytest.mark.drill
def test_rotation_in_progress_uses_the_pending_password(
    client, fresh_credentials, secret_calls, rotate
):
    """When the database already has the AWSPENDING password, a new connection tries it once."""
    assert client.get("/api/employees/").status_code == 200
    rotate(f"pending-{uuid.uuid4().hex}", stage="AWSPENDING")
    connections.close_all()
    assert client.get("/api/employees/").status_code == 200
    assert secret_calls == ["GetSecretValue", "GetSecretValue", "GetSecretValue"]
    connections.close_all()
    assert client.get("/api/employees/").status_code == 200  # the pending value is remembered
    assert len(secret_calls) == 3


def test_credentials_never_show_the_password():
    """The credentials' repr, which tracebacks and logs would print, hides the password."""
    found = credentials.Credentials(username="app", password="s3cret-value")
    assert "s3cret-value" not in repr(found) and "app" in repr(found)


def test_threads_that_miss_together_make_one_call(fresh_credentials, secret_calls):
    """Eight threads connecting at once on a cold cache share one GetSecretValue."""
    barrier = threading.Barrier(8)

    def connect():
        barrier.wait()
        credentials.get(DB_SECRET_ID, region=os.environ["AWS_REGION"])

    threads = [threading.Thread(target=connect) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert secret_calls == ["GetSecretValue"]


def test_a_forked_worker_makes_its_own_client(aws_server):
    """A client made before a fork (gunicorn's preload) is not shared with the child."""
    before = aws.secrets_client(os.environ["AWS_REGION"])
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if it gets a client of its own
        os._exit(0 if aws.secrets_client(os.environ["AWS_REGION"]) is not before else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.mark.drill
def test_secrets_manager_failure_is_a_503_not_a_500(client, fresh_credentials):
    """With the database secret unreadable, pages and /readyz answer 503 naming the cause."""
    saved = {}
    for alias in ("default", "reader"):
        saved[alias] = connections[alias].settings_dict["SECRET_ID"]
        connections[alias].settings_dict["SECRET_ID"] = "test/no-such-secret"
    try:
        api = client.get("/api/employees/")
        ready = client.get("/readyz")
    finally:
        for alias, secret_id in saved.items():
            connections[alias].settings_dict["SECRET_ID"] = secret_id
    assert api.status_code == 503 and api["Retry-After"] == "5"
    assert ready.status_code == 503
    assert ready.json()["checks"] == {
        "writer": "down (CredentialsError)",
        "reader": "down (CredentialsError)",
    }


def test_a_failed_read_is_remembered_until_its_backoff_and_reset_by_success(
    fresh_credentials, secret_calls, secretsmanager
):
    """A missing secret is read once, refused from memory within the backoff (no call), read
    again after it, and once found the backoff is gone: its next failure waits the first step."""
    secret_id = f"test/backoff/{uuid.uuid4().hex[:8]}"
    region = os.environ["AWS_REGION"]
    for _ in range(3):
        with pytest.raises(credentials.CredentialsError, match="ResourceNotFoundException"):
            credentials.get(secret_id, region=region)
    assert secret_calls == ["GetSecretValue"]
    secretsmanager.create_secret(Name=secret_id, SecretString='{"username": "u", "password": "p"}')
    try:
        time.sleep(credentials.BACKOFF_FIRST + 0.1)
        assert credentials.get(secret_id, region=region).username == "u"
        assert secret_calls == ["GetSecretValue"] * 2
        assert credentials._states[secret_id].delay == 0.0
    finally:
        secretsmanager.delete_secret(SecretId=secret_id, ForceDeleteWithoutRecovery=True)


def test_reading_the_refused_value_again_keeps_the_backoff_growing(
    fresh_credentials, secret_calls, secretsmanager
):
    """A secret whose password the server keeps refusing: reading the same value again after
    the first window is not a success, so the next window is twice as long (no call within)."""
    secret_id = f"test/backoff/{uuid.uuid4().hex[:8]}"
    region = os.environ["AWS_REGION"]
    secretsmanager.create_secret(Name=secret_id, SecretString='{"username": "u", "password": "p"}')
    try:
        stale = credentials.get(secret_id, region=region)
        credentials.refused(secret_id, "refused by the server")  # the first window: 1 s
        time.sleep(credentials.BACKOFF_FIRST + 0.1)
        assert credentials.refresh(secret_id, region=region, refused=stale) == stale
        credentials.refused(secret_id, "refused by the server")  # the second window: 2 s
        time.sleep(credentials.BACKOFF_FIRST + 0.1)
        with pytest.raises(credentials.CredentialsError, match="refused by the server"):
            credentials.refresh(secret_id, region=region, refused=stale)
        assert secret_calls == ["GetSecretValue"] * 2
    finally:
        secretsmanager.delete_secret(SecretId=secret_id, ForceDeleteWithoutRecovery=True)
