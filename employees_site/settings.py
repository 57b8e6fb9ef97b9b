"""Settings for the employees site. The one module that reads the environment.

With no DB environment (a fresh checkout) both aliases use one local SQLite file: the embedded
default that ``make run`` serves. With ``DB_WRITER_HOST`` set, ``default`` is the Aurora writer
(cluster endpoint) and ``reader`` the reader endpoint, both through the project's MySQL backend,
which takes user and password from the secret ``DB_SECRET_ID`` (the application user). Where
``DB_MIGRATE_SECRET_ID`` is set (the master user), migrate and the test database use it instead.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = os.environ

DJANGO_ENV = env.get("DJANGO_ENV", "development")
if DJANGO_ENV not in ("development", "production"):
    raise ImproperlyConfigured(
        f"DJANGO_ENV={DJANGO_ENV!r} is not valid: use 'development' or 'production'"
    )
PRODUCTION = DJANGO_ENV == "production"
DEBUG = not PRODUCTION


def _csv(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env.get(name, default).split(",") if item.strip()]


def _port(name: str) -> int:
    value = env.get(name, "3306")
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ImproperlyConfigured(f"{name}={value!r} is not a TCP port (1-65535)")
    return int(value)


AWS_REGION = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")

if PRODUCTION:
    # Everything production cannot run without, reported at once rather than one per restart.
    _required = ["DJANGO_ALLOWED_HOSTS", "DB_WRITER_HOST", "DB_NAME", "DB_SECRET_ID"]
    _missing = [name for name in _required if not env.get(name)]
    if not AWS_REGION:
        _missing.append("AWS_REGION (or AWS_DEFAULT_REGION)")
    if not (env.get("DJANGO_SECRET_KEY") or env.get("DJANGO_SECRET_KEY_SECRET_ID")):
        _missing.append("DJANGO_SECRET_KEY or DJANGO_SECRET_KEY_SECRET_ID")
    if _missing:
        raise ImproperlyConfigured(
            "DJANGO_ENV=production needs these environment variables: " + ", ".join(_missing)
        )

if env.get("DJANGO_SECRET_KEY"):
    SECRET_KEY = env["DJANGO_SECRET_KEY"]
elif env.get("DJANGO_SECRET_KEY_SECRET_ID"):
    from .aws import secret_string

    SECRET_KEY = secret_string(env["DJANGO_SECRET_KEY_SECRET_ID"], region=AWS_REGION)
elif not PRODUCTION:
    SECRET_KEY = "development-only-key-never-used-in-production-0123456789"  # noqa: S105
if PRODUCTION and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured(
        "the Django secret key (DJANGO_SECRET_KEY or the secret DJANGO_SECRET_KEY_SECRET_ID) "
        f"must be at least 50 characters; it has {len(SECRET_KEY)}"
    )

ALLOWED_HOSTS = _csv("DJANGO_ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = _csv("DJANGO_CSRF_TRUSTED_ORIGINS")

# -- HTTPS behind the ALB ----------------------------------------------------------------------
# The ALB terminates TLS and says so in X-Forwarded-Proto. gunicorn turns that header into the
# request's scheme only for peers in FORWARDED_ALLOW_IPS (the VPC), so Django takes the scheme
# from gunicorn and SECURE_PROXY_SSL_HEADER stays unset: no client can claim HTTPS by header.
_https = env.get("DJANGO_HTTPS", "true" if PRODUCTION else "false").lower()
if _https not in ("true", "false"):
    raise ImproperlyConfigured(f"DJANGO_HTTPS={_https!r} is not valid: use 'true' or 'false'")
HTTPS = _https == "true"
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SILENCED_SYSTEM_CHECKS = [
    # HSTS include-subdomains and preload commit every subdomain of the domain, which the site
    # does not own; the domain's owner decides that, not this application.
    "security.W005",
    "security.W021",
]
if PRODUCTION and not HTTPS:
    # A stack without a certificate serves plain HTTP: exactly the HTTPS-only checks are off
    # (HSTS, SSL redirect, secure session and CSRF cookies); the app says so at start-up.
    SILENCED_SYSTEM_CHECKS += ["security.W004", "security.W008", "security.W012", "security.W016"]
SESSION_COOKIE_HTTPONLY = True

INSTALLED_APPS = [
    "employees_site.db",  # first: its migrate (writer only, locked) replaces Django's
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "employees_site.employees",
]

MIDDLEWARE = [
    # Content-Security-Policy and Permissions-Policy on every response, the health answers too.
    "employees_site.headers.SecurityHeadersMiddleware",
    # One JSON line per request, with the request id and the database aliases used.
    "employees_site.logs.RequestLogMiddleware",
    # So the ALB's health check (Host = the instance's IP, plain HTTP) is answered before
    # host validation or an HTTPS redirect can turn it away.
    "employees_site.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before the session middleware, whose session read must see the writer after a login.
    "employees_site.db.middleware.RoutingMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: answers a locked-out login with the lockout page.
    "axes.middleware.AxesMiddleware",
]

# -- login throttling (django-axes; see employees_site/lockout.py) ----------------------------
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username or address before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "employees_site.lockout.WriterDatabaseHandler"
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
# Each on its own: one username tried from many addresses, or one address trying many names.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "employees_site.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "employees_site.lockout.client_ip"
# In production every request comes through the ALB, which appends the client's address to
# X-Forwarded-For; locally there is no proxy and REMOTE_ADDR is the client.
BEHIND_LOAD_BALANCER = PRODUCTION
AXES_VERBOSE = False

ROOT_URLCONF = "employees_site.urls"
WSGI_APPLICATION = "employees_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "employees_site" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# -- databases -------------------------------------------------------------------------------

if env.get("DB_WRITER_HOST"):
    _missing = [name for name in ("DB_SECRET_ID", "DB_NAME") if not env.get(name)]
    if _missing:
        raise ImproperlyConfigured(
            f"DB_WRITER_HOST is set, so these are needed too: {', '.join(_missing)}"
        )
    _options = {
        "charset": "utf8mb4",
        "connect_timeout": 5,
        "read_timeout": 30,
        "write_timeout": 30,
    }
    if env.get("DB_SSL_CA"):
        # The endpoint's certificate and its name are both checked. Through a Session Manager
        # port-forward, map the endpoint's name to 127.0.0.1 (README) rather than weaken this.
        _options["ssl"] = {"ca": env["DB_SSL_CA"]}
        _options["ssl_mode"] = "VERIFY_IDENTITY"

    def _mysql(host: str, port: int, *, master: bool = False) -> dict:
        return {
            "ENGINE": "employees_site.db.backends.mysql",
            "HOST": host,
            "PORT": port,
            "NAME": env["DB_NAME"],
            "SECRET_ID": env["DB_SECRET_ID"],
            "SECRET_REGION": AWS_REGION,
            # The master user's secret, for migrate and the commands that need DDL (writer only).
            "MIGRATE_SECRET_ID": env.get("DB_MIGRATE_SECRET_ID", "") if master else "",
            "OPTIONS": _options,
            # Persistent connections, checked before reuse: a request never pays a TLS handshake
            # and a dead connection (failover) is replaced instead of failing the request.
            "CONN_MAX_AGE": 300,
            "CONN_HEALTH_CHECKS": True,
        }

    DATABASES = {
        "default": _mysql(env["DB_WRITER_HOST"], _port("DB_WRITER_PORT"), master=True),
        "reader": _mysql(
            env.get("DB_READER_HOST", env["DB_WRITER_HOST"]),
            _port("DB_READER_PORT" if env.get("DB_READER_PORT") else "DB_WRITER_PORT"),
        ),
    }
    # A request that finds the reader gone waits this long before its reads fall back.
    DATABASES["reader"]["OPTIONS"] = {**_options, "connect_timeout": 2}
else:
    _sqlite = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": env.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
        "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;"},
    }
    DATABASES = {"default": _sqlite, "reader": dict(_sqlite)}

# The reader's test database is the writer's, reached by replication (or the same SQLite file).
DATABASES["reader"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["employees_site.db.router.PrimaryReplicaRouter"]
# Reads of a client that wrote go to the writer for this long (Aurora replica lag is typically
# well under a second). ATOMIC_REQUESTS stays off: it would pin every read to the writer.
DATABASE_PIN_SECONDS = 5
# After the reader fails, reads go to the writer for this long before the reader is tried again.
DATABASE_READER_COOLDOWN = 10
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# -- the rest --------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
if PRODUCTION:
    # Hashed, compressed files, collected at build time and served by whitenoise with far-future
    # cache headers; development keeps Django's plain storage and runserver's static serving.
    _security = MIDDLEWARE.index("django.middleware.security.SecurityMiddleware")
    MIDDLEWARE.insert(_security + 1, "whitenoise.middleware.WhiteNoiseMiddleware")
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

# make run's demo superuser; Django's createsuperuser reads the same variable.
DEMO_SUPERUSER_PASSWORD = env.get("DJANGO_SUPERUSER_PASSWORD", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "employees_site.logs.RequestIdFilter"},
        "one_line_warning": {"()": "employees_site.logs.OneLineWarning"},
    },
    "formatters": {
        "json": {"()": "employees_site.logs.JsonFormatter"},
        "plain": {"format": "%(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json" if PRODUCTION else "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": "INFO" if PRODUCTION else "WARNING"},
    "loggers": {
        # Django's own handlers off (its console handler repeated in development what the root
        # handler prints); its records reach the root handler like everyone's.
        "django": {"level": "INFO" if PRODUCTION else "WARNING"},
        # runserver's request lines (development only), one each.
        "django.server": {"level": "INFO", "handlers": ["console"], "propagate": False},
        # Our access line covers every request; django.request keeps only server errors.
        "django.request": {"level": "ERROR"},
        "employees_site.requests": {"level": "INFO" if PRODUCTION else "WARNING"},
        # Scanners send foreign Host headers all day: one warning line each, no traceback, and
        # not again through Django's own "django" logger handlers.
        "django.security.DisallowedHost": {
            "handlers": ["console"],
            "filters": ["one_line_warning"],
            "propagate": False,
        },
    },
}
