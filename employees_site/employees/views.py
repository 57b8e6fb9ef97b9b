"""The public pages and the JSON API. Reads only; every bad input is a 400 or 404, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from . import openapi, rows
from .paginator import approximate
from .params import MAX_ID, BadParameter, ListParams, parse_list_params
from .selectors import (
    Page,
    UnknownCursor,
    departments,
    employee_fields,
    employee_page,
    estimated_total,
)


def _page(params: ListParams) -> Page:
    try:
        return employee_page(
            cursor=params.cursor,
            after=params.after,
            limit=params.limit,
            q=params.q,
            department=params.department,
        )
    except UnknownCursor:
        raise BadParameter(
            "after", f"no employee has id {params.after}; start again from the first page"
        ) from None


def _employee(pk: int) -> dict:
    # The URL pattern takes any digits; the key is 64-bit (beyond, SQLite would refuse the query).
    employee = employee_fields(pk) if pk <= MAX_ID else None
    if employee is None:
        raise Http404
    return employee


def employee_json(employee: dict) -> dict:
    department = None
    if employee["department_id"] is not None:
        department = {"id": employee["department_id"], "name": employee["department__name"]}
    return {
        "id": employee["id"],
        "name": employee["name"],
        "age": employee["age"],
        "joined_at": employee["joined_at"].isoformat(),
        "email": employee["email"],
        "department": department,
    }


def json_error(status: int, message: str, parameter: str | None = None) -> JsonResponse:
    """The API's one error shape (openapi's ``Error``)."""
    error = {"message": message}
    if parameter is not None:
        error["parameter"] = parameter
    return JsonResponse({"error": error}, status=status)


def api_endpoint(view: Callable) -> Callable:
    """A read-only API view: other methods get a JSON 405 with ``Allow``.

    CSRF protection guards state changes made with a browser's cookies; no API view changes
    state, so without the exemption a POST would only meet the CSRF failure page (HTML, 403)
    instead of the API's answer (405).
    """

    @csrf_exempt
    @wraps(view)
    def endpoint(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            response = json_error(
                405, f"{request.method} is not allowed here: the API is read-only (use GET)"
            )
            response["Allow"] = openapi.ALLOWED_METHODS
            return response
        return view(request, *args, **kwargs)

    return endpoint


# -- HTML ------------------------------------------------------------------------------------


@require_safe
def employee_list(request: HttpRequest) -> HttpResponse:
    try:
        params = parse_list_params(request.GET, strict=False)
        page = _page(params)
    except BadParameter as error:
        return render(request, "employees/bad_request.html", {"error": error}, status=400)
    total = estimated_total(q=params.q, department=params.department)
    choices = departments()
    here = params.here()
    return render(
        request,
        "employees/list.html",
        {
            "page": page,
            "params": params,
            "department_options": rows.department_options(choices, params.department),
            "department": next((d for d in choices if d["id"] == params.department), None),
            # "about 1,000,000": the estimate to two significant digits, never as if exact.
            "total": f"about {approximate(total.count):,}"
            if total.estimated
            else f"{total.count:,}",
            "shown": len(page.employees),
            # Rows as one string built in Python: Django's template engine costs about as much
            # per row as the whole JSON response (see BENCHMARKS.md).
            "rows": rows.table_rows(page.employees, back=here),
            "first_query": params.query() if (page.previous or params.cursor) else None,
            "next_query": params.query(page.next) if page.next else None,
            "previous_query": params.query(page.previous) if page.previous else None,
        },
    )


@require_safe
def employee_detail(request: HttpRequest, pk: int) -> HttpResponse:
    employee = _employee(pk)
    return render(
        request,
        "employees/detail.html",
        {"employee": employee, "back": rows.back_query(request.GET.get("back", ""))},
    )


# -- JSON API --------------------------------------------------------------------------------


@api_endpoint
def api_employee_list(request: HttpRequest) -> JsonResponse:
    try:
        params = parse_list_params(request.GET, strict=True)
        page = _page(params)
    except BadParameter as error:
        return json_error(400, error.message, error.parameter)

    def link(cursor) -> str | None:
        return request.build_absolute_uri(request.path + params.query(cursor)) if cursor else None

    return JsonResponse(
        {
            "results": [employee_json(employee) for employee in page.employees],
            "next": link(page.next),
            "previous": link(page.previous),
        }
    )


@api_endpoint
def api_employee_detail(request: HttpRequest, pk: int) -> JsonResponse:
    try:
        employee = _employee(pk)
    except Http404:
        return json_error(404, f"no employee has id {pk}")
    return JsonResponse(employee_json(employee))


@api_endpoint
def api_schema(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi.document(request.build_absolute_uri("/").rstrip("/")))


@csrf_exempt
def api_not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Any other path under /api/, including ids that are not numbers: 404 whatever the method
    (exempt from CSRF, whose failure page would answer an unknown POST first)."""
    return api_path_not_found(request)


def api_path_not_found(request: HttpRequest) -> JsonResponse:
    return json_error(
        404, f"nothing at {request.path[:200]}; the API's paths are listed in /api/schema/"
    )
