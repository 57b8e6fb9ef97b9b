"""The site's error responses: JSON under /api/ (the API's one error shape), and pages in the
site's layout (templates/400.html, 404.html, 500.html, 503.html) everywhere else."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views import defaults

from .db.middleware import server_error as database_aware_server_error
from .employees.views import api_path_not_found, json_error


def _api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _api(request):
        # Usually a Host header this site does not serve (DisallowedHost).
        return json_error(400, "bad request: check the URL's host name and the request's headers")
    return defaults.bad_request(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _api(request):
        return api_path_not_found(request)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    # A database outage is a 503 (JSON under /api/) from the database layer; anything else a 500.
    response = database_aware_server_error(request)
    if response.status_code == 500 and _api(request):
        return json_error(500, "the server failed to answer; the error is logged, retry later")
    return response
