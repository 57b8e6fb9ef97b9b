"""Security headers on every kind of response, and error pages in the site's layout."""

import pytest
from django.db import OperationalError

from employees_site.db.middleware import unavailable

pytestmark = pytest.mark.django_db(databases=["default", "reader"])

SECURITY_HEADERS = (
    "Content-Security-Policy",
    "Permissions-Policy",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
    "X-Frame-Options",
)
PATHS = ["/", "/nope/", "/api/employees/", "/api/nope", "/api/schema/", "/admin/login/"]


def _security_headers(response) -> dict:
    return {name: response.headers.get(name) for name in SECURITY_HEADERS}


@pytest.mark.parametrize("path", [*PATHS, "/healthz", "/readyz"])
def test_every_response_carries_the_security_headers(client, path):
    """Pages, API answers, errors and the health endpoints all carry the same security headers."""
    expected = _security_headers(client.get("/"))
    assert all(expected.values()), expected
    assert _security_headers(client.get(path)) == expected


def test_the_policy_allows_no_inline_code(client):
    """The CSP names 'self' for scripts and styles, never 'unsafe-inline'; pages have no inline
    style or script to need it."""
    response = client.get("/")
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response["Content-Security-Policy"].split(";")
    )
    assert policy["script-src"] == policy["style-src"] == "'self'"
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    html = response.content.decode()
    assert "<style" not in html and "style=" not in html and "<script>" not in html
    assert "camera=()" in response["Permissions-Policy"]


@pytest.mark.parametrize(
    ("respond", "status", "title"),
    [
        (lambda client, rf: client.get("/no/such/page/"), 404, "Not found"),
        (
            lambda client, rf: unavailable(rf.get("/"), OperationalError(2003, "gone")),
            503,
            "Briefly unavailable",
        ),
    ],
)
def test_error_pages_use_the_site_layout(client, rf, respond, status, title):
    """The 404 and 503 pages (500: see test_api) have the site's heading, stylesheet and title."""
    response = respond(client, rf)
    assert response.status_code == status
    html = response.content.decode()
    assert f"<title>{title} · Employee directory</title>" in html
    assert 'href="/static/employees/site.css"' in html and 'href="/"' in html
