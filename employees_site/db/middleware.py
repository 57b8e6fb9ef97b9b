"""Per-request routing state, the read-your-writes cookie, and a clean 503 when a DB is gone."""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views import defaults

from . import errors, routing
from .routing import READER, WRITER

logger = logging.getLogger(__name__)

PIN_COOKIE = "db_pin"
_SALT = "employees_site.db.pin"


class RoutingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        window = settings.DATABASE_PIN_SECONDS
        pinned = bool(request.get_signed_cookie(PIN_COOKIE, None, salt=_SALT, max_age=window))
        state, token = routing.begin_request(pinned=pinned)
        try:
            response = self.get_response(request)
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
        if not errors.unavailable(exception):
            return None
        return unavailable(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: the same 503 for a database error raised outside a view (a middleware saving
    the session, say), which process_exception never sees; anything else is a plain 500."""
    exception = sys.exc_info()[1]
    if exception is not None and errors.unavailable(exception):
        return unavailable(request, exception)
    return defaults.server_error(request)


def unavailable(request: HttpRequest, exception: BaseException) -> HttpResponse:
    """A 503 with Retry-After, after dropping connections that cannot be trusted any more."""
    if errors.code(exception) in errors.READ_ONLY:
        # A connection still pointing at a demoted writer: drop it, so the next use
        # resolves the cluster endpoint again and reaches the new writer.
        connections[WRITER].close()
    elif errors.connection_suspect(exception):
        # Which alias failed is not in the error: drop both, a reconnect costs milliseconds.
        for alias in (WRITER, READER):
            connections[alias].close()
    else:
        for alias in (WRITER, READER):
            connections[alias].close_if_unusable_or_obsolete()
    # What to fix, for the operator: the condition or the secret's problem, never a server
    # message (it names the client's host and user) or a value. The access line carries it too.
    request.db_cause = errors.cause(exception)
    logger.warning("database unavailable: %s; answered 503", request.db_cause)
    message = "The database is briefly unavailable; please retry in a few seconds."
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": {"message": message}}, status=503)
    else:
        # The site's layout; rendered without the request, so no context processor touches the
        # database that is gone.
        response = HttpResponse(
            loader.render_to_string("503.html", {"message": message}), status=503
        )
    response["Retry-After"] = "5"
    return response
