"""Per-request routing state, the read-your-writes cookie, and a clean 503 when a DB is gone."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse

from . import routing
from .routing import READER, WRITER, describe_error

logger = logging.getLogger(__name__)

PIN_COOKIE = "db_pin"
_SALT = "employees_site.db.pin"
# The writer became read-only (failover demoted it): 1290 read-only option, 1836 read-only mode.
READ_ONLY_ERRORS = {1290, 1836}
# The server is gone or going: refused, unknown host, gone away, lost, shutting down, killed.
UNAVAILABLE_ERRORS = {2002, 2003, 2005, 2006, 2013, 1053, 1927} | READ_ONLY_ERRORS


class RoutingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        window = settings.DATABASE_PIN_SECONDS
        pinned = bool(request.get_signed_cookie(PIN_COOKIE, None, salt=_SALT, max_age=window))
        token = routing.begin_request(pinned=pinned)
        try:
            response = self.get_response(request)
            state = routing.current()
            if state.wrote:
                response.set_signed_cookie(
                    PIN_COOKIE,
                    "1",
                    salt=_SALT,
                    max_age=window,
                    secure=settings.SESSION_COOKIE_SECURE,
                    httponly=True,
                    samesite="Lax",
                )
            request.db_aliases = sorted(state.used)
            return response
        finally:
            routing.end_request(token)

    def process_exception(self, request: HttpRequest, exception: Exception):
        code = exception.args[0] if exception.args else None
        if not isinstance(exception, DatabaseError) or code not in UNAVAILABLE_ERRORS:
            return None
        if code in READ_ONLY_ERRORS:
            # A connection still pointing at a demoted writer: drop it, so the next use
            # resolves the cluster endpoint again and reaches the new writer.
            connections[WRITER].close()
        else:
            for alias in (WRITER, READER):
                connections[alias].close_if_unusable_or_obsolete()
        logger.warning("database unavailable (%s); answered 503", describe_error(exception))
        message = "The database is briefly unavailable; please retry in a few seconds."
        if request.path.startswith("/api/"):
            response = JsonResponse({"error": {"message": message}}, status=503)
        else:
            response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = "5"
        return response
