"""/healthz answers the ALB's check without the database; /readyz checks writer and reader."""

import pytest
from django.db import connections
from django.test import override_settings


@override_settings(ALLOWED_HOSTS=["employees.example.com"], SECURE_SSL_REDIRECT=True)
def test_healthz_answers_the_alb_check_by_ip_over_http(client):
    """A plain-HTTP check with the instance's private IP as Host gets 200, not 400 or 301."""
    response = client.get("/healthz", HTTP_HOST="10.0.12.34:8000")
    assert response.status_code == 200
    assert response.content == b"ok\n"


@override_settings(ALLOWED_HOSTS=["employees.example.com"], SECURE_SSL_REDIRECT=True)
def test_other_paths_keep_host_validation_and_the_redirect(client):
    """The exemption is only for the health paths: other requests still get validated."""
    assert client.get("/", HTTP_HOST="10.0.12.34:8000").status_code == 400
    assert client.get("/", HTTP_HOST="employees.example.com").status_code == 301


def test_healthz_does_not_touch_the_database(client):
    """/healthz answers with database access blocked (no django_db mark: any query would raise)."""
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db(databases=["default", "reader"])
def test_readyz_ok_when_writer_and_reader_answer(client):
    """/readyz is 200 with both checks ok when both databases answer."""
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"writer": "up", "reader": "up"}
    assert response.json()["ready"] is True


@pytest.mark.django_db(databases=["default", "reader"])
def test_readyz_503_names_the_failed_database(client):
    """With the reader unreachable, /readyz is 503 and names the reader, not the writer."""
    original = connections["reader"]
    broken = dict(original.settings_dict)
    if original.vendor == "sqlite":
        broken["NAME"] = "/nonexistent-dir/readyz.sqlite3"
    else:
        broken["PORT"] = 1  # nothing listens on port 1
    connections["reader"] = original.__class__(broken, "reader")
    try:
        response = client.get("/readyz")
    finally:
        connections["reader"].close()
        connections["reader"] = original
    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False
    assert body["checks"]["writer"] == "up"
    assert body["checks"]["reader"].startswith("fallback (OperationalError")
