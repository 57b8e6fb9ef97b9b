"""Login throttling: django-axes, on the writer, keyed on the client behind the ALB.

Five failed logins for one username, or from one address, lock that username or address out for
a cool-off period (settings.AXES_*); a successful login resets the count. The attempts live in the
database, so every instance behind the load balancer counts the same failures.
"""

from __future__ import annotations

from functools import wraps

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .db.routing import use_writer


def _on_writer(method):
    @wraps(method)
    def on_writer(*args, **kwargs):
        with use_writer():
            return method(*args, **kwargs)

    return on_writer


class WriterDatabaseHandler(AxesDatabaseHandler):
    """axes' database handler whose reads go to the writer, like its writes.

    The router would send the lockout check to the reader, which may not have the failure the
    previous request just wrote (replica lag); a client that drops the pinning cookie would then
    get extra tries. Counting on the writer sees every failure at once.
    """


for _name in (
    "is_allowed",
    "is_locked",
    "get_failures",
    "user_login_failed",
    "user_logged_in",
    "user_logged_out",
    "reset_attempts",
    "reset_logs",
    "reset_failure_logs",
    "remove_out_of_limit_failure_logs",
):
    setattr(WriterDatabaseHandler, _name, _on_writer(getattr(AxesDatabaseHandler, _name)))


def client_ip(request: HttpRequest) -> str:
    """The address to count failures for.

    Behind the ALB every request comes from one of its nodes (REMOTE_ADDR); the ALB appends the
    address it received the request from as the last X-Forwarded-For entry, which a client cannot
    forge (any entries the client sent come before it). Without a proxy, REMOTE_ADDR.
    """
    if settings.BEHIND_LOAD_BALANCER:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return request.META.get("REMOTE_ADDR", "")


def lockout_response(
    request: HttpRequest, original_response=None, credentials=None
) -> HttpResponse:
    """429 in the site's layout, saying why and for how long, with Retry-After."""
    cool_off = get_cool_off(request)
    minutes = max(1, round(cool_off.total_seconds() / 60))
    response = render(
        request,
        "locked_out.html",
        {"minutes": minutes, "failure_limit": settings.AXES_FAILURE_LIMIT},
        status=429,
    )
    response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response
