"""The MySQL backend's credentials: Secrets Manager, cached, refreshed on 1045 (rotation)."""

import uuid

import pytest
from django.db import connections

from employees_site.db import credentials

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
