"""Health endpoints, answered by the first middleware.

``/healthz`` is the ALB's target health check: shallow (no database), so a database blip does not
take every instance out of the target group at once. ``/readyz`` checks the writer and the reader:
the boot signal the instance bootstrap waits for. Both are answered before host validation and the
HTTPS redirect: the ALB sends its check over plain HTTP with the instance's private IP as Host,
which must not open ALLOWED_HOSTS to everything.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware

from .db import identity
from .db.errors import CONNECT_ERRORS, cause
from .db.routing import READER, WRITER, describe_error, reader_health

logger = logging.getLogger(__name__)

# Replica lag as each engine reports it; the first query that works wins. Aurora readers report
# their lag in information_schema.replica_host_status; a MySQL/MariaDB replica in its status.
_AURORA_LAG = (
    "SELECT MAX(replica_lag_in_milliseconds) / 1000 FROM information_schema.replica_host_status "
    "WHERE session_id <> 'MASTER_SESSION_ID'"
)


def healthz() -> HttpResponse:
    return HttpResponse(b"ok\n", content_type="text/plain")


def _ping(alias: str) -> Exception | None:
    """None when ``alias`` answers, else the error (its cause logged, shown by class/code)."""
    connection = connections[alias]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return None
    except (*CONNECT_ERRORS, OSError) as error:
        logger.warning("readyz: %s failed: %s", alias, cause(error))
        connection.close()
        return error


def _replica_lag(alias: str) -> float | None:
    connection = connections[alias]
    if connection.vendor != "mysql":
        return None
    for query in (_AURORA_LAG, "SHOW SLAVE STATUS"):
        try:
            with connection.cursor() as cursor:
                cursor.execute(query)
                row = cursor.fetchone()
                columns = [column[0] for column in cursor.description or ()]
        except DatabaseError:
            continue  # not this engine, or no privilege to read it
        if row is None:
            continue
        value = (
            row[0]
            if query == _AURORA_LAG
            else dict(zip(columns, row, strict=True)).get("Seconds_Behind_Master")
        )
        if value is not None:
            return float(value)
    return None


def readyz() -> JsonResponse:
    """Writer and reader state: up, down, or (the reader) fallback: reads served by the writer."""
    writer_error = _ping(WRITER)
    reader_error = _ping(READER)
    if reader_error is None:
        reader_health.succeeded()
    else:
        reader_health.failed(reader_error, settings.DATABASE_READER_COOLDOWN)
    # The body is public: it names the error's class and code, never a host.
    checks = {
        "writer": "up" if writer_error is None else f"down ({describe_error(writer_error)})",
        "reader": "up"
        if reader_error is None
        else f"{'fallback' if writer_error is None else 'down'} ({describe_error(reader_error)})",
    }
    body = {
        "ready": writer_error is None and reader_error is None,
        "checks": checks,
        "replica_lag_seconds": _replica_lag(READER) if reader_error is None else None,
        # Which secret's identity serves requests (the app user, not the master): by name only.
        "identity": identity.describe(connections[WRITER]),
    }
    return JsonResponse(body, status=200 if body["ready"] else 503)


ENDPOINTS = {"/healthz": healthz, "/readyz": readyz}


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        # The health answers skip the rest of the chain; these add the headers it would have.
        self.header_middleware = [
            SecurityMiddleware(get_response),
            XFrameOptionsMiddleware(get_response),
        ]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        endpoint = ENDPOINTS.get(request.path_info)
        if endpoint is None or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        # /readyz costs database round trips and names error classes: it is for the instance
        # itself (the bootstrap asks it directly), not for the internet through the ALB, which
        # adds X-Forwarded-For to every request it forwards (its own health checks carry none).
        if endpoint is readyz and "X-Forwarded-For" in request.headers:
            return self.get_response(request)
        response = endpoint()
        for middleware in self.header_middleware:
            response = middleware.process_response(request, response)
        return response
