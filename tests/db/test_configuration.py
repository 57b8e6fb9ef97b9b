"""Bad database configuration gives one clear line naming what to fix, never a traceback."""

import pytest

from employees_site.db.checks import database_errors

from .conftest import manage


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"DB_SECRET_ID": "no/such/secret"},
            "database credentials: cannot read secret 'no/such/secret'",
        ),
        ({"DB_WRITER_PORT": "1"}, "cannot reach database alias 'default' at 127.0.0.1:1"),
        ({"DB_WRITER_PORT": "1"}, "check DB_WRITER_HOST/DB_WRITER_PORT"),
        ({"DB_WRITER_PORT": "http"}, "DB_WRITER_PORT='http' is not a TCP port"),
        ({"DB_NAME": ""}, "these are needed too: DB_NAME"),
        ({"DB_NAME": "", "DB_SECRET_ID": ""}, "DB_SECRET_ID, DB_NAME"),
    ],
)
def test_bad_configuration_is_one_clear_line(db_secret, env, message):
    """manage.py migrate with a bad setting exits 1 with the cause named, no traceback."""
    result = manage("migrate", "--noinput", **env)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_secret_without_password_is_named(db_secret, secretsmanager):
    """A secret that is not JSON with username and password is reported as such."""
    secretsmanager.create_secret(Name="test/no-password", SecretString='{"username": "app"}')
    result = manage("migrate", "--noinput", DB_SECRET_ID="test/no-password")
    assert result.returncode == 1
    assert "is not JSON with 'username' and 'password'" in result.stderr
    assert "Traceback" not in result.stderr


AURORA = "employees_site.db.backends.mysql"


def _db(engine=AURORA, **extra):
    return {"ENGINE": engine, "HOST": "writer", "SECRET_ID": "s", **extra}


@pytest.mark.parametrize(
    ("databases", "env", "ids"),
    [
        ({"default": _db(), "reader": _db(HOST="reader")}, "production", []),
        ({"default": _db()}, "development", ["aurora.E001"]),
        (
            {"default": _db("django.db.backends.mysql"), "reader": _db()},
            "development",
            ["aurora.E002"],
        ),
        (
            {"default": _db("django.db.backends.sqlite3"), "reader": _db(HOST="reader")},
            "production",
            ["aurora.E003"],
        ),
        ({"default": _db(HOST=""), "reader": _db()}, "production", ["aurora.E004"]),
        ({"default": _db(SECRET_ID=None), "reader": _db(HOST="r")}, "production", ["aurora.E004"]),
        ({"default": _db(), "reader": _db()}, "production", ["aurora.W001"]),
        ({"default": _db(), "reader": _db()}, "development", []),
    ],
)
def test_system_checks_name_the_misconfiguration(databases, env, ids):
    """Each misconfiguration of the aliases is a system check error with its own id."""
    assert [error.id for error in database_errors(databases, env)] == ids


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DB_SSL_CA": "/etc/ca.pem"}, "{'ca': '/etc/ca.pem'} VERIFY_IDENTITY"),
        ({}, "None None"),
    ],
)
def test_tls_options_follow_the_environment(env, expected):
    """DB_SSL_CA turns on TLS with the CA bundle, checking the endpoint's certificate and name."""
    code = (
        "from django.conf import settings; o = settings.DATABASES['reader']['OPTIONS'];"
        "print(o.get('ssl'), o.get('ssl_mode'))"
    )
    result = manage("shell", "--no-imports", "-c", code, **env)
    assert result.stdout.strip() == expected
