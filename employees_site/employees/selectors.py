"""Reads of employees: keyset pages in (name, id) order, never an OFFSET scan."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from .models import Employee


class UnknownCursor(LookupError):
    """The ``after`` employee does not exist (any more)."""


@dataclass(frozen=True)
class Page:
    employees: list[Employee]
    next_after: int | None  # the id to pass as ``after`` for the next page, if there is one


def employee_page(*, after: int | None = None, limit: int = 50, prefix: str = "") -> Page:
    """One page of employees whose name starts with ``prefix``, after employee ``after``."""
    queryset: QuerySet[Employee] = Employee.objects.order_by("name", "id")
    if prefix:
        queryset = queryset.filter(name__istartswith=prefix)
    if after is not None:
        last = Employee.objects.filter(pk=after).values_list("name", flat=True).first()
        if last is None:
            raise UnknownCursor(after)
        queryset = queryset.filter(Q(name__gt=last) | Q(name=last, id__gt=after))
    rows = list(queryset[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    return Page(employees=rows, next_after=rows[-1].id if has_more else None)
