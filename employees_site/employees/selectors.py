"""Reads of employees: keyset pages in (name, id) order both ways, never an OFFSET scan."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connections, router
from django.db.models import Exists, OuterRef, Q, QuerySet

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
    """Employees with a word starting with each word of ``q`` (any order), in ``department``:
    for counting and estimating; pages come from ``employee_page``."""
    queryset = Employee.objects.all()
    if department is not None:
        queryset = queryset.filter(department_id=department)
    if q:
        queryset = queryset.filter(id__in=word_matches(q, department=None).values("employee_id"))
    return queryset


def word_matches(q: str, *, department: int | None) -> QuerySet:
    """Rows of the words table for the longest word of ``q`` whose employee also has a word
    starting with each other word of ``q`` (one row per matching word: an employee can repeat).

    The longest word drives: a range on the (word, name, employee) index, which also holds the
    name, so the rows come sorted by (name, id) from a small sort of index entries, without
    reading an employee row; each other word is an index lookup per candidate employee.
    """
    terms = sorted(name_words(q), key=len, reverse=True)
    if not terms:
        return EmployeeWord.objects.none()  # only punctuation: no word can start with it
    words = EmployeeWord.objects.filter(word__istartswith=terms[0])
    for term in terms[1:]:
        also = EmployeeWord.objects.filter(employee_id=OuterRef("employee_id"))
        words = words.filter(Exists(also.filter(word__istartswith=term)))
    if department is not None:
        words = words.filter(employee__department_id=department)
    return words


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

    def rows(at: Cursor | None, count: int) -> list[dict]:
        if q:
            return _search_rows(q, department, at, count)
        return _rows(department, at, count)

    if cursor is not None and cursor.backward:
        before = rows(cursor, limit + 1)
        if len(before) <= limit:
            # The start of the list is near (rows were deleted, or this is the first page):
            # show a full first page rather than a short one.
            return employee_page(limit=limit, q=q, department=department)
        found = list(reversed(before[:limit]))
        return Page(found, next=Cursor.after(found[-1]), previous=Cursor.before(found[0]))
    found = rows(cursor, limit + 1)
    more = len(found) > limit
    found = found[:limit]
    previous = None
    if cursor is not None and found and rows(Cursor.before(found[0]), 1):
        previous = Cursor.before(found[0])
    return Page(found, next=Cursor.after(found[-1]) if more else None, previous=previous)


def _after(queryset: QuerySet, cursor: Cursor | None, id_field: str) -> QuerySet:
    """``queryset`` from ``cursor`` on, in its direction's (name, id) order.

    The cursor carries the boundary's (name, id): it holds when that employee is gone or
    renamed, and the comparison uses the column's collation, as ORDER BY does.
    """
    if cursor is None:
        return queryset.order_by("name", id_field)
    if cursor.backward:
        before = Q(name__lt=cursor.name) | Q(name=cursor.name, **{f"{id_field}__lt": cursor.id})
        return queryset.filter(before).order_by("-name", f"-{id_field}")
    after = Q(name__gt=cursor.name) | Q(name=cursor.name, **{f"{id_field}__gt": cursor.id})
    return queryset.filter(after).order_by("name", id_field)


def _rows(department: int | None, cursor: Cursor | None, count: int) -> list[dict]:
    """``count`` rows of ``department`` (None: everyone) after (or, for a backward cursor,
    before: nearest first) ``cursor``: the ORM's ``_after(matching(department=department)
    .values(*PUBLIC_FIELDS), cursor, "id")[:count]``, in one statement built once per shape.

    The list and the API run this on every request; compiling the ORM query, then converting
    each row through its converters, took about a third of the API's time per request.
    """
    connection = connections[router.db_for_read(Employee)]
    sql = _page_sql(connection, department=department is not None, cursor=cursor)
    params: list = [] if department is None else [department]
    if cursor is not None:
        params += [cursor.name, cursor.name, cursor.id]
    with connection.cursor() as db:
        db.execute(sql, [*params, count])
        found = db.fetchall()
    aware = settings.USE_TZ
    rows = []
    for row in found:
        employee = dict(zip(PUBLIC_FIELDS, row, strict=True))
        joined = employee["joined_at"]
        if aware and joined.tzinfo is None:  # stored in UTC, as Django's own converter knows
            employee["joined_at"] = joined.replace(tzinfo=connection.timezone)
        rows.append(employee)
    return rows


_page_statements: dict[tuple, str] = {}  # (vendor, department?, direction) -> SQL


def _page_sql(connection, *, department: bool, cursor: Cursor | None) -> str:
    """The statement of ``_rows`` for one shape: placeholders for the department, then the
    cursor's (name, name, id), then the row count."""
    backward = None if cursor is None else cursor.backward
    key = (connection.vendor, department, backward)
    sql = _page_statements.get(key)
    if sql is None:
        sql = _page_statements[key] = _build_page_sql(connection.ops.quote_name, *key[1:])
    return sql


def _build_page_sql(quote, department: bool, backward: bool | None) -> str:
    employees, departments = quote(Employee._meta.db_table), quote(Department._meta.db_table)

    def column(name: str) -> str:
        return f"{employees}.{quote(Employee._meta.get_field(name).column)}"

    name, pk, department_id = column("name"), column("id"), column("department")
    # PUBLIC_FIELDS, in order.
    columns = [*map(column, ("id", "name", "age", "joined_at", "email", "department"))]
    columns.append(f"{departments}.{quote(Department._meta.get_field('name').column)}")
    joined = f"{departments}.{quote(Department._meta.pk.column)}"
    where = [f"{department_id} = %s"] if department else []
    if backward is not None:
        op = "<" if backward else ">"
        where.append(f"({name} {op} %s OR ({name} = %s AND {pk} {op} %s))")
    order = "DESC" if backward else "ASC"
    return (
        f"SELECT {', '.join(columns)} FROM {employees} "  # noqa: S608 - names from the models
        f"LEFT OUTER JOIN {departments} ON ({department_id} = {joined})"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + f" ORDER BY {name} {order}, {pk} {order} LIMIT %s"
    )


def _search_rows(q: str, department: int | None, cursor: Cursor | None, count: int) -> list[dict]:
    """As ``_rows``, for a search: (name, id) from the words table, then those employees."""
    words = word_matches(q, department=department).values_list("name", "employee_id")
    keys: list[tuple[str, int]] = []
    at = cursor
    while len(keys) < count:
        # An employee with two words matching the driving term has two adjacent rows: skip the
        # repeat, and fetch on from the last row until ``count`` employees are found.
        wanted = count - len(keys)
        batch = list(_after(words, at, "employee_id")[:wanted])
        for key in batch:
            if not keys or keys[-1] != key:
                keys.append(key)
        if len(batch) < wanted:
            break
        name, pk = batch[-1]
        at = Cursor(name=name, id=pk, backward=cursor is not None and cursor.backward)
    found = {
        row["id"]: row
        for row in Employee.objects.filter(id__in=[pk for _, pk in keys]).values(*PUBLIC_FIELDS)
    }
    return [found[pk] for _, pk in keys if pk in found]


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
    if q:
        # The words range a search reads; an employee with two matching words counts once.
        queryset = word_matches(q, department=department).values("employee_id").distinct()
    else:
        queryset = matching(department=department).values("id")
    queryset = queryset.order_by()
    connection = connections[queryset.db]
    if connection.vendor == "mysql":
        sql, params = queryset.query.sql_with_params()
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
