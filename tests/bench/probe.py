"""Measurements made inside the site's own Django process (the runner starts this as a child).

``python -m tests.bench.probe COMMAND --out FILE ...`` with an instance's environment; one
process per command, so Django starts once for each:

- ``prepare``: the admin user the runner logs in with (created or reset on the writer), and the
  selector's keyset page against Django's OFFSET paginator, first and deep page, timed in the ORM
  on the reader (no HTTP);
- ``profile --targets api,api-deep,admin,admin-search,blog-way``: pyinstrument over requests
  through Django's test client, summarised as where the time goes (by area and by function) plus
  each SQL statement's time; ``blog-way`` instead times the blog way's steps one request at a
  time (fetch, connect, query, close), to be read next to the site's profile.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import statistics
import sys
import time
from pathlib import Path

import django

ADMIN_CHANGELIST = "/admin/employees/employee/"
PAGE = 50


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.probe")
    parser.add_argument("command", choices=("prepare", "profile"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--username", default="bench-admin")
    parser.add_argument("--password", default="")
    parser.add_argument("--deep-offset", type=int, default=0)
    parser.add_argument("--deep-id", type=int, default=0)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--targets", default="api")
    parser.add_argument("--host", default="bench.internal")
    options = parser.parse_args(argv)
    django.setup()
    if options.command == "prepare":
        result = {
            "admin_user": ensure_admin(options.username, options.password),
            "pagination": pagination(options.deep_offset, options.deep_id, options.samples),
        }
    else:
        result = {}
        for target in options.targets.split(","):
            if target == "blog-way":
                result[target] = blog_way_parts(options.samples)
            else:
                result[target] = profile(target, options)
    options.out.write_text(json.dumps(result, indent=2))
    return 0


def ensure_admin(username: str, password: str) -> dict:
    from django.contrib.auth import get_user_model

    user, created = get_user_model().objects.get_or_create(username=username)
    user.is_staff = user.is_superuser = True
    user.set_password(password)
    user.save()
    return {"username": username, "created": created}


def _median_ms(function, samples: int) -> float:
    function()  # warm: connection, plan cache
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 3)


def pagination(deep_offset: int, deep_id: int, samples: int) -> dict:
    from django.core.paginator import Paginator

    from employees_site.employees.models import Employee
    from employees_site.employees.selectors import PUBLIC_FIELDS, employee_page

    # The same rows in the same shape as the keyset page, so the two differ only in how they seek.
    ordered = Employee.objects.order_by("name", "id").values(*PUBLIC_FIELDS)
    deep_number = deep_offset // PAGE + 1
    keyset_deep = employee_page(after=deep_id, limit=PAGE).employees
    offset_deep = list(Paginator(ordered, PAGE).page(deep_number).object_list)
    same_page = [e["id"] for e in keyset_deep] == [e["id"] for e in offset_deep]

    def offset_page(number):
        # Django's Paginator: COUNT(*) to validate the number, then LIMIT/OFFSET.
        return lambda: list(Paginator(ordered, PAGE).page(number).object_list)

    keyset = {
        "first_ms": _median_ms(lambda: employee_page(limit=PAGE), samples),
        "deep_ms": _median_ms(lambda: employee_page(after=deep_id, limit=PAGE), samples),
    }
    offset = {
        "first_ms": _median_ms(offset_page(1), samples),
        "deep_ms": _median_ms(offset_page(deep_number), samples),
        "count_ms": _median_ms(lambda: ordered.count(), samples),
        "deep_select_only_ms": _median_ms(
            lambda: list(ordered[deep_offset : deep_offset + PAGE]), samples
        ),
    }
    for figures in (keyset, offset):
        figures["deep_over_first"] = round(figures["deep_ms"] / figures["first_ms"], 2)
    return {
        "deep_page_number": deep_number,
        "same_rows_both_ways": same_page,
        "keyset": keyset,
        "offset": offset,
    }


def blog_way_parts(samples: int) -> dict:
    """Median ms of each step of a blog-way request, made one at a time (no concurrency)."""
    import MySQLdb

    from . import page

    settings = page.settings()
    client = page.secrets_client(settings["region"])
    steps: dict[str, list[float]] = collections.defaultdict(list)
    for number in range(samples + 1):
        marks = [time.perf_counter()]
        user, password = page.fetch_credentials(client, settings["secret_id"])
        marks.append(time.perf_counter())
        connection = MySQLdb.connect(
            host=settings["host"],
            port=settings["port"],
            user=user,
            password=password,
            database=settings["database"],
            charset="utf8mb4",
        )
        marks.append(time.perf_counter())
        cursor = connection.cursor()
        cursor.execute(page.SQL, (PAGE + 1,))
        cursor.fetchall()
        marks.append(time.perf_counter())
        connection.close()
        marks.append(time.perf_counter())
        if number:  # the first one warms up
            for name, start, end in zip(
                ("get_secret_value", "connect", "query", "close"), marks, marks[1:], strict=False
            ):
                steps[name].append((end - start) * 1000)
    return {
        "target": "blog way, one request at a time",
        "requests": samples,
        "median_ms": {name: round(statistics.median(values), 3) for name, values in steps.items()},
    }


def _wait_for_session_on_reader(session_key: str, timeout: float = 10) -> None:
    from django.contrib.sessions.models import Session

    deadline = time.monotonic() + timeout
    while not Session.objects.using("reader").filter(pk=session_key).exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the login session did not reach the reader in time")
        time.sleep(0.05)


def _requests_for(target: str, options, client) -> tuple[str, list[str]]:
    if target == "api":
        return "GET /api/employees/?limit=50", ["/api/employees/?limit=50"]
    if target == "api-deep":
        path = f"/api/employees/?after={options.deep_id}&limit=50"
        return f"GET {path}", [path]
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username=options.username)
    client.force_login(user)
    _wait_for_session_on_reader(client.session.session_key)
    if target == "admin":
        return f"GET {ADMIN_CHANGELIST}", [ADMIN_CHANGELIST]
    return f"GET {ADMIN_CHANGELIST}?q=Ada", [f"{ADMIN_CHANGELIST}?q=Ada"]


class _SqlTimer:
    """An execute wrapper: total time per distinct statement (its first 160 characters)."""

    def __init__(self):
        self.seconds: dict[str, float] = collections.defaultdict(float)
        self.calls: collections.Counter = collections.Counter()

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            key = f"[{context['connection'].alias}] {' '.join(sql.split())[:160]}"
            self.seconds[key] += time.perf_counter() - started
            self.calls[key] += 1


def profile(target: str, options) -> dict:
    try:
        from pyinstrument import Profiler
    except ImportError:
        return {"error": "pyinstrument is not installed (it is in the bench extra)"}
    from django.db import connections
    from django.test import Client

    client = Client(HTTP_HOST=options.host)
    label, paths = _requests_for(target, options, client)
    for path in paths:  # warm: connections, templates, the first secret fetch
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
    timer = _SqlTimer()
    count = max(1, options.samples)
    profiler = Profiler(interval=0.0005)
    with contextlib.ExitStack() as stack:
        for alias in ("default", "reader"):
            stack.enter_context(connections[alias].execute_wrapper(timer))
        started = time.perf_counter()
        with profiler:
            for _ in range(count):
                for path in paths:
                    client.get(path)
        elapsed = time.perf_counter() - started
    return summarise(profiler.last_session, label, count * len(paths), elapsed, timer)


_AREAS = (
    ("/MySQLdb/", "MySQLdb: waiting on the server"),
    ("/django/db/", "Django ORM and backend"),
    ("/django/template", "templates"),
    ("/django/contrib/admin", "admin"),
    ("/django/", "Django other"),
    ("employees_site", "the site's code"),
    ("/json/", "JSON"),
    ("/pyinstrument/", "profiler"),
)


def _area(path: str | None) -> str:
    for needle, area in _AREAS:
        if path and needle in path:
            return area
    return "other"


def _short(path: str | None) -> str:
    if not path:
        return "?"
    for marker in ("site-packages/", "lib/python3", "employees_site/", "tests/"):
        if marker in path:
            return path[path.index(marker) :].removeprefix("site-packages/")
    return Path(path).name


def summarise(session, label: str, requests: int, elapsed: float, timer: _SqlTimer) -> dict:
    root = session.root_frame()
    by_area: collections.Counter = collections.Counter()
    by_function: collections.Counter = collections.Counter()
    stack = [(root, root, "other")] if root else []
    while stack:
        frame, parent, parent_area = stack.pop()
        children = list(frame.children)
        own = frame.time - sum(child.time for child in children)
        # pyinstrument keeps a function's own time in a synthetic "[self]" child: charge it
        # (and any other synthetic frame) to the real function above it.
        real = parent if frame.is_synthetic else frame
        # A built-in (C) function has no file: it belongs to the area of its caller, e.g.
        # MySQLdb's Connection.query to MySQLdb.
        builtin = not real.file_path or real.file_path.startswith("<")
        area = parent_area if builtin else _area(real.file_path)
        by_area[area] += own
        by_function[f"{real.function} ({_short(real.file_path)}:{real.line_no})"] += own
        stack.extend((child, real, area) for child in children)
    total = sum(by_area.values()) or 1.0
    per_request_ms = elapsed * 1000 / requests
    sql = sorted(timer.seconds.items(), key=lambda item: -item[1])
    return {
        "target": label,
        "requests": requests,
        "ms_per_request": round(per_request_ms, 2),
        "by_area_percent": {
            area: round(100 * seconds / total, 1) for area, seconds in by_area.most_common()
        },
        "top_functions_self_percent": [
            {"function": name, "percent": round(100 * seconds / total, 1)}
            for name, seconds in by_function.most_common(10)
        ],
        "sql_ms_per_request": [
            {
                "statement": statement,
                "calls_per_request": round(timer.calls[statement] / requests, 2),
                "ms_per_request": round(seconds * 1000 / requests, 2),
            }
            for statement, seconds in sql[:8]
        ],
    }


if __name__ == "__main__":
    sys.exit(main())
