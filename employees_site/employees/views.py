"""The public pages and the JSON API. Reads only; every bad input is a 400 or 404, never a 500."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from .params import MAX_ID, BadParameter, ListParams, parse_list_params
from .selectors import Page, UnknownCursor, employee_fields, employee_page


def _page(params: ListParams) -> Page:
    try:
        return employee_page(after=params.after, limit=params.limit, prefix=params.q)
    except UnknownCursor:
        raise BadParameter(
            "after", f"no employee has id {params.after}; start again from the first page"
        ) from None


def _next_query(params: ListParams, page: Page) -> str | None:
    if page.next_after is None:
        return None
    query = {"after": page.next_after, "limit": params.limit}
    if params.q:
        query["q"] = params.q
    return "?" + urlencode(query)


def _employee(pk: int) -> dict:
    # The URL pattern takes any digits; the key is 64-bit (beyond, SQLite would refuse the query).
    employee = employee_fields(pk) if pk <= MAX_ID else None
    if employee is None:
        raise Http404
    return employee


def employee_json(employee: dict) -> dict:
    return {**employee, "joined_at": employee["joined_at"].isoformat()}


def _json_error(status: int, message: str, parameter: str | None = None) -> JsonResponse:
    error = {"message": message}
    if parameter:
        error["parameter"] = parameter
    return JsonResponse({"error": error}, status=status)


# -- HTML ------------------------------------------------------------------------------------


@require_safe
def employee_list(request: HttpRequest) -> HttpResponse:
    try:
        params = parse_list_params(request.GET, strict=False)
        page = _page(params)
    except BadParameter as error:
        return render(request, "employees/bad_request.html", {"error": error}, status=400)
    return render(
        request,
        "employees/list.html",
        {"page": page, "q": params.q, "next_query": _next_query(params, page)},
    )


@require_safe
def employee_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "employees/detail.html", {"employee": _employee(pk)})


# -- JSON API --------------------------------------------------------------------------------


@require_safe
def api_employee_list(request: HttpRequest) -> JsonResponse:
    try:
        params = parse_list_params(request.GET, strict=True)
        page = _page(params)
    except BadParameter as error:
        return _json_error(400, error.message, error.parameter)
    next_query = _next_query(params, page)
    return JsonResponse(
        {
            "results": [employee_json(employee) for employee in page.employees],
            "next": request.build_absolute_uri(request.path + next_query) if next_query else None,
        }
    )


@require_safe
def api_employee_detail(request: HttpRequest, pk: int) -> JsonResponse:
    try:
        employee = _employee(pk)
    except Http404:
        return _json_error(404, f"no employee has id {pk}")
    return JsonResponse(employee_json(employee))
