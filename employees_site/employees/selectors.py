"""Reads of employees: keyset pages in (name, id) order both ways, never an OFFSET scan."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.db import connections
from django.db.models import Q, QuerySet

from .cursors import Cursor
from .models import Department, Employee, EmployeeWord, name_words
from .paginator import EXACT_BELOW, estimated_rows

# What the list, the detail page and the API show. Reading only these as plain rows skips building
# model instances and converting timestamps nobody shows: most of a page's time in Python.
PUBLIC_FIELDS = ("id", "name", "age", "joined_at", "email", "department_id", "department__name")


class UnknownCursor(LookupError):
    """The ``after`` employee does not exist (any more)."""


@dataclass(frozen=True)
class Page:
    employees: list[dict]  # PUBLIC_FIELDS of each employee
    next: Cursor | None  # where the next page starts, if there is one
    previous: Cursor | None  # where the previous page ends, if there is one


def matching(*, q: str = "", department: int | None = None) -> QuerySet:
    """Employees with a word starting with each word of ``q`` (any order), in ``department``.

    Each term is a semi-join on the words table: a range on its (word, employee) index, so the
    search stays an index range at a million rows where LIKE '%term%' would scan the table.
    """
    queryset = Employee.objects.all()
    if department is not None:
        queryset = queryset.filter(department_id=department)
    return with_words(queryset, q) if q else queryset


def with_words(queryset: QuerySet, q: str) -> QuerySet:
    """``queryset`` narrowed to names with a word starting with each word of ``q``."""
    terms = name_words(q)
    if not terms:
        return queryset.none()  # only punctuation: no word can start with it
    for term in terms:
        words = EmployeeWord.objects.filter(word__istartswith=term)
        queryset = queryset.filter(id__in=words.values("employee_id"))
    return queryset


def employee_page(
    *,
    cursor: Cursor | None = None,
    after: int | None = None,
    limit: int = 50,
    q: str = "",
    department: int | None = None,
) -> Page:
    """One page of the employees ``matching(q, department)``, from ``cursor`` on (or, with a
    backward cursor, the page before it). ``after`` is the deprecated id-only cursor."""
    if after is not None:
        last = Employee.objects.filter(pk=after).values_list("name", flat=True).first()
        if last is None:
            raise UnknownCursor(after)
        cursor = Cursor(name=last, id=after)
    base = matching(q=q, department=department)
    if cursor is not None and cursor.backward:
        before = _rows(base, cursor, limit + 1)
        if len(before) <= limit:
            # The start of the list is near (rows were deleted, or this is the first page):
            # show a full first page rather than a short one.
            return employee_page(limit=limit, q=q, department=department)
        rows = list(reversed(before[:limit]))
        after_last = Cursor.after(rows[-1])
        return Page(rows, next=after_last, previous=Cursor.before(rows[0]))
    rows = _rows(base, cursor, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    previous = None
    if cursor is not None and rows and _rows(base, Cursor.before(rows[0]), 1):
        previous = Cursor.before(rows[0])
    return Page(rows, next=Cursor.after(rows[-1]) if more else None, previous=previous)


def _rows(base: QuerySet, cursor: Cursor | None, count: int) -> list[dict]:
    """``count`` rows after (or, for a backward cursor, before: nearest first) ``cursor``."""
    queryset = base.values(*PUBLIC_FIELDS)
    if cursor is None:
        return list(queryset.order_by("name", "id")[:count])
    # The cursor carries the boundary's (name, id): it holds when that employee is gone or
    # renamed, and the comparison uses the column's collation, as ORDER BY does.
    if cursor.backward:
        queryset = queryset.filter(Q(name__lt=cursor.name) | Q(name=cursor.name, id__lt=cursor.id))
        return list(queryset.order_by("-name", "-id")[:count])
    queryset = queryset.filter(Q(name__gt=cursor.name) | Q(name=cursor.name, id__gt=cursor.id))
    return list(queryset.order_by("name", "id")[:count])


@dataclass(frozen=True)
class Total:
    count: int
    estimated: bool  # True: the planner's estimate ("about"); False: counted


# The unfiltered list's estimate, kept this long per process: an "about" figure does not need a
# query on every page view (the list page would cost a third more than the API's).
TOTAL_TTL_SECONDS = 30.0
_everyone: tuple[float, Total] | None = None  # (monotonic time, total) of the unfiltered list


def estimated_total(*, q: str = "", department: int | None = None) -> Total:
    """How many employees match, cheaply: the planner's row estimate on MySQL, counted exactly
    (and at most EXACT_BELOW rows read) when the estimate is small or there is no planner.
    The unfiltered list's estimate is reused for TOTAL_TTL_SECONDS; an exact count never is."""
    global _everyone
    if q or department is not None:
        return _estimated_total(q=q, department=department)
    kept = _everyone
    if kept is not None and time.monotonic() - kept[0] < TOTAL_TTL_SECONDS:
        return kept[1]
    total = _estimated_total()
    _everyone = (time.monotonic(), total) if total.estimated else None
    return total


def _estimated_total(*, q: str = "", department: int | None = None) -> Total:
    queryset = matching(q=q, department=department).order_by()
    connection = connections[queryset.db]
    if connection.vendor == "mysql":
        sql, params = queryset.values("id").query.sql_with_params()
        estimate = estimated_rows(connection, sql, params)
        if estimate is not None and estimate >= EXACT_BELOW:
            return Total(estimate, estimated=True)
    counted = queryset[:EXACT_BELOW].count()
    return Total(counted, estimated=counted >= EXACT_BELOW)


def employee_fields(pk: int) -> dict | None:
    """PUBLIC_FIELDS of employee ``pk``, or None."""
    return Employee.objects.filter(pk=pk).values(*PUBLIC_FIELDS).first()


# Departments change a few times a year; the list page's filter keeps them this long per
# process, and a change saved in this process clears them at once (forget_kept, apps.py).
DEPARTMENTS_TTL_SECONDS = 30.0
_departments: tuple[float, list[dict]] | None = None


def departments() -> list[dict]:
    """Every department (id, name), by name: a few dozen rows at most."""
    global _departments
    kept = _departments
    if kept is not None and time.monotonic() - kept[0] < DEPARTMENTS_TTL_SECONDS:
        return kept[1]
    found = list(Department.objects.order_by("name").values("id", "name"))
    _departments = (time.monotonic(), found)
    return found


def forget_kept(**signal) -> None:
    """Drop the kept department list and total (a receiver of Department's post_save and
    post_delete; tests call it between tests)."""
    global _departments, _everyone
    _departments = _everyone = None
