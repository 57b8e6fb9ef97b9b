"""Health endpoints, answered by the first middleware.

``/healthz`` is the ALB's target health check: shallow (no database), so a database blip does not
take every instance out of the target group at once. ``/readyz`` checks the writer and the reader:
the boot signal the instance bootstrap waits for. Both are answered before host validation and the
HTTPS redirect: the ALB sends its check over plain HTTP with the instance's private IP as Host,
which must not open ALLOWED_HOSTS to everything.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

# (alias, role) pairs /readyz checks, in order.
READY_CHECKS = (("default", "writer"), ("reader", "reader"))


def healthz() -> HttpResponse:
    return HttpResponse(b"ok\n", content_type="text/plain")


def readyz() -> JsonResponse:
    checks = {}
    for alias, role in READY_CHECKS:
        connection = connections[alias]
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            checks[role] = "ok"
        except (DatabaseError, OSError) as error:
            # The driver's message can name internal hosts; the body says only what failed.
            code = error.args[0] if error.args and isinstance(error.args[0], int) else None
            checks[role] = f"unavailable ({error.__class__.__name__}{f' {code}' if code else ''})"
            logger.warning("readyz: %s (%s) failed: %s", role, alias, error)
            connection.close_if_unusable_or_obsolete()
    ready = all(state == "ok" for state in checks.values())
    return JsonResponse({"ready": ready, "checks": checks}, status=200 if ready else 503)


ENDPOINTS = {"/healthz": healthz, "/readyz": readyz}


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        endpoint = ENDPOINTS.get(request.path_info)
        if endpoint is not None and request.method in ("GET", "HEAD"):
            return endpoint()
        return self.get_response(request)
