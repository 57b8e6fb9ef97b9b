"""Production settings, served by gunicorn with the repo's config against the MariaDB pair."""

import json
import os
import time
import uuid
from pathlib import Path

import pytest

from tests.harness import site

ROOT = Path(__file__).resolve().parents[2]
HOST = site.HOST
_manage = site.manage

# The served site uses the test database, which pytest-django creates only for marked tests.
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "reader"])


@pytest.fixture(scope="module")
def https_site(production_env, static_files, tmp_path_factory):
    server = site.Gunicorn(
        production_env, tmp_path_factory.mktemp("gunicorn") / "out.log", host=HOST
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def untrusted_proxy_site(production_env, static_files, tmp_path_factory):
    """gunicorn trusting forwarded headers from the VPC only; the tests connect from 127.0.0.1."""
    env = {**production_env, "FORWARDED_ALLOW_IPS": "10.0.0.0/16"}
    server = site.Gunicorn(env, tmp_path_factory.mktemp("gunicorn-vpc") / "out.log", host=HOST)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http_site(production_env, static_files, tmp_path_factory):
    env = {**production_env, "DJANGO_HTTPS": "false"}
    server = site.Gunicorn(env, tmp_path_factory.mktemp("gunicorn-http") / "out.log", host=HOST)
    yield server
    server.stop()


def test_check_deploy_reports_no_issue(production_env):
    """manage.py check --deploy passes with no issue in production, with and without HTTPS."""
    for https in ("true", "false"):
        result = _manage({**production_env, "DJANGO_HTTPS": https}, "check", "--deploy")
        assert result.returncode == 0, result.stderr
        assert "no issues" in result.stdout


def test_missing_settings_are_named_at_once():
    """Production without its environment fails naming every missing variable in one line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "AWS_REGION"))}
    result = _manage({**env, "DJANGO_ENV": "production"}, "check")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    for name in ("DJANGO_ALLOWED_HOSTS", "DB_WRITER_HOST", "DB_SECRET_ID", "DJANGO_SECRET_KEY"):
        assert name in result.stderr


def test_short_secret_key_is_refused(production_env):
    """A secret key under 50 characters is refused, saying how long it must be."""
    result = _manage({**production_env, "DJANGO_SECRET_KEY": "short"}, "check")
    assert result.returncode == 1
    assert "must be at least 50 characters" in result.stderr


def test_alb_health_check_by_ip_over_http_gets_200(https_site):
    """The ALB's check (Host = a private IP, plain HTTP) is answered 200, not 400 or 301."""
    status, _, body = https_site.get("/healthz", {"Host": "10.0.12.34:8000"})
    assert (status, body) == (200, b"ok\n")


def test_plain_http_redirects_to_https_and_https_gets_hsts(https_site):
    """/ over HTTP redirects to HTTPS; through the ALB's HTTPS it is served with HSTS."""
    status, headers, _ = https_site.get("/")
    assert status == 301 and headers["Location"] == f"https://{HOST}/"
    status, headers, _ = https_site.get("/", {"X-Forwarded-Proto": "https"})
    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000"


def test_unknown_host_is_refused_with_one_warning_line(https_site):
    """A foreign Host gets 400 (JSON under /api/) and logs one WARNING line, no traceback."""
    traces = []
    for path in ("/", "/api/employees/"):
        trace = f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}"
        headers = {"Host": "evil.example", "X-Forwarded-Proto": "https", "X-Amzn-Trace-Id": trace}
        status, response_headers, body = https_site.get(path, headers)
        assert status == 400
        traces.append(trace)
    assert response_headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"]["message"]
    time.sleep(0.2)
    for trace in traces:
        lines = [line for line in https_site.log_lines() if line.get("request_id") == trace]
        warnings = [line for line in lines if line["level"] != "INFO"]
        assert [(w["level"], w["logger"]) for w in warnings] == [
            ("WARNING", "django.security.DisallowedHost")
        ]
        assert "evil.example" in warnings[0]["message"] and "exception" not in warnings[0]
    assert "Traceback" not in https_site.log.read_text()


def test_health_answers_carry_the_security_headers(https_site):
    """/healthz, answered before the rest of the chain, has the headers of any page."""
    _, page, _ = https_site.get("/", {"X-Forwarded-Proto": "https"})
    _, health, _ = https_site.get("/healthz", {"Host": "10.0.12.34:8000"})
    for name in ("Content-Security-Policy", "Permissions-Policy", "X-Content-Type-Options"):
        assert health[name] == page[name], name


def test_static_files_are_hashed_compressed_and_cached(https_site, static_files):
    """Admin CSS is served under its hashed name, gzip-compressed, cached for ever."""
    hashed = static_files["admin/css/base.css"]
    assert hashed != "admin/css/base.css"
    headers = {"Accept-Encoding": "gzip", "X-Forwarded-Proto": "https"}
    status, headers, _ = https_site.get(f"/static/{hashed}", headers)
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert "immutable" in headers["Cache-Control"]


def test_one_json_log_line_per_request_with_the_trace_id(https_site):
    """Each request logs one JSON line with the ALB trace id, status, duration and aliases."""
    trace = f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}"
    headers = {"X-Forwarded-Proto": "https", "X-Amzn-Trace-Id": trace}
    status, response_headers, _ = https_site.get("/api/employees/", headers)
    assert status == 200 and response_headers["X-Request-Id"] == trace
    time.sleep(0.2)
    lines = [line for line in https_site.log_lines() if line.get("request_id") == trace]
    assert len(lines) == 1
    line = lines[0]
    assert (line["status"], line["path"], line["db"]) == (200, "/api/employees/", ["reader"])
    assert line["duration_ms"] > 0


def test_without_https_plain_http_is_served_and_the_start_up_says_so(http_site):
    """DJANGO_HTTPS=false serves / over HTTP (no redirect) and warns once at start-up."""
    status, headers, _ = http_site.get("/")
    assert status == 200 and "Strict-Transport-Security" not in headers
    warnings = [line for line in http_site.log_lines() if "DJANGO_HTTPS=false" in line["message"]]
    assert len(warnings) == 1


def test_forwarded_proto_counts_only_from_trusted_addresses(untrusted_proxy_site):
    """A client outside FORWARDED_ALLOW_IPS cannot claim HTTPS by sending X-Forwarded-Proto."""
    status, headers, _ = untrusted_proxy_site.get("/", {"X-Forwarded-Proto": "https"})
    assert status == 301 and headers["Location"] == f"https://{HOST}/"


def test_readyz_is_not_served_to_the_internet(https_site):
    """/readyz answers the instance itself, but not a request the ALB forwarded (404)."""
    assert https_site.get("/readyz", {"Host": "10.0.12.34:8000"})[0] == 200
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    assert https_site.get("/readyz", forwarded)[0] == 404
