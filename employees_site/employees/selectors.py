"""Reads of employees: keyset pages in (name, id) order, never an OFFSET scan."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from .models import Employee

# What the list, the detail page and the API show. Reading only these as plain rows skips building
# model instances and converting timestamps nobody shows: most of a page's time in Python.
PUBLIC_FIELDS = ("id", "name", "age", "joined_at")


class UnknownCursor(LookupError):
    """The ``after`` employee does not exist (any more)."""


@dataclass(frozen=True)
class Page:
    employees: list[dict]  # PUBLIC_FIELDS of each employee
    next_after: int | None  # the id to pass as ``after`` for the next page, if there is one


def employee_page(*, after: int | None = None, limit: int = 50, prefix: str = "") -> Page:
    """One page of employees whose name starts with ``prefix``, after employee ``after``."""
    queryset = Employee.objects.order_by("name", "id").values(*PUBLIC_FIELDS)
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
    return Page(employees=rows, next_after=rows[-1]["id"] if has_more else None)


def employee_fields(pk: int) -> dict | None:
    """PUBLIC_FIELDS of employee ``pk``, or None."""
    return Employee.objects.filter(pk=pk).values(*PUBLIC_FIELDS).first()
