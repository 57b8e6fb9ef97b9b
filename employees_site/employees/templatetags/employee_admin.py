"""The admin's date hierarchy, without a DISTINCT over every row at its top level."""

from __future__ import annotations

from datetime import MAXYEAR, datetime

from django import template
from django.contrib.admin.templatetags.admin_list import date_hierarchy
from django.contrib.admin.views.main import PAGE_VAR
from django.db import connections
from django.db.models import Min
from django.utils import timezone
from django.utils.html import format_html

from ..paginator import estimated_rows

register = template.Library()

# A filtered list with fewer rows than this (the planner's estimate) gets its years from Django's
# own hierarchy, one pass over its rows: skipping along the join-time index would, for each year,
# read through rows that mostly fail the filter (a name search: 38 ms a year at a million rows).
FEW_ROWS = 50_000


@register.inclusion_tag("admin/date_hierarchy.html")
def employee_date_hierarchy(cl):
    """Django's date hierarchy, except the list of years.

    Django lists the years with SELECT DISTINCT YEAR(...) over the whole table: a full index scan,
    about half a second at a million rows, on every changelist page. The years are found by
    skipping along the index instead: the first join time, then the first one after that year,
    and so on: one index seek per year that has employees, and no year without any. A filter
    that leaves few rows (a name search) is served better by Django's own pass over them.
    """
    field = cl.date_hierarchy
    if any(name.startswith(f"{field}__") for name in cl.params):
        return date_hierarchy(cl)  # within one year Django's own drill-down is bounded
    if cl.queryset.query.where and _few_rows(cl.queryset):
        return date_hierarchy(cl)
    years = _years(cl.queryset, field)
    if len(years) <= 1:
        return date_hierarchy(cl)
    return {
        "show": True,
        "back": None,
        "choices": [
            {
                "link": cl.get_query_string({f"{field}__year": str(year)}, [f"{field}__"]),
                "title": str(year),
            }
            for year in years
        ],
    }


def _few_rows(queryset) -> bool:
    """Whether ``queryset`` matches fewer than FEW_ROWS rows by the planner's estimate (on a
    database without one, a filtered list is taken to be small)."""
    connection = connections[queryset.db]
    if connection.vendor != "mysql":
        return True
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    estimate = estimated_rows(connection, sql, params)
    return estimate is not None and estimate < FEW_ROWS


def _years(queryset, field: str) -> list[int]:
    """The years (in the current time zone) in which ``field`` has values, in order."""
    years = []
    moment = queryset.aggregate(first=Min(field))["first"]
    while moment is not None:
        year = _year(moment)
        years.append(year)
        if year >= MAXYEAR:
            break
        start_of_next = datetime(year + 1, 1, 1)
        if timezone.is_aware(moment):
            start_of_next = timezone.make_aware(start_of_next)
        moment = queryset.filter(**{f"{field}__gte": start_of_next}).aggregate(first=Min(field))[
            "first"
        ]
    return years


def _year(moment) -> int:
    return timezone.localtime(moment).year if timezone.is_aware(moment) else moment.year


@register.simple_tag
def next_page_link(cl):
    """A "Next" link when the changelist's page has a next one (lists whose length is estimated
    have no last page to jump to)."""
    page = getattr(cl.paginator, "last_page_seen", None)
    if page is None or page.number != cl.page_num or not page.has_next():
        return ""
    return format_html(
        '<a href="{}" rel="next" class="next-page">Next &rsaquo;</a> ',
        cl.get_query_string({PAGE_VAR: cl.page_num + 1}),
    )
