"""Sequential HTTP requests to one server: medians of interleaved pages, and an admin login."""

from __future__ import annotations

import http.client
import http.cookies
import re
import statistics
import time
from urllib.parse import urlencode

from .services import HOST, Gunicorn


def interleaved_medians(
    server: Gunicorn,
    paths: dict[str, str],
    samples: int,
    headers: dict | None = None,
    expect: bytes | None = None,
) -> dict[str, float]:
    """Median ms of each path over ``samples`` sequential keep-alive requests, interleaved."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    times: dict[str, list[float]] = {name: [] for name in paths}
    try:
        for number in range(samples + 1):
            for name, path in paths.items():
                started = time.perf_counter()
                connection.request("GET", path, headers={"Host": HOST, **(headers or {})})
                response = connection.getresponse()
                body = response.read()
                elapsed = (time.perf_counter() - started) * 1000
                if response.status != 200 or (expect and expect not in body):
                    raise RuntimeError(f"{path} answered {response.status}: {body[:300]!r}")
                if number:  # the first round only warms up
                    times[name].append(elapsed)
    finally:
        connection.close()
    return {name: round(statistics.median(values), 2) for name, values in times.items()}


def log_in(server: Gunicorn, username: str, password: str) -> dict[str, str]:
    """Log in through the admin's form, as a browser does; the cookies it is given."""
    cookies: dict[str, str] = {}
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("GET", "/admin/login/?next=/admin/", headers={"Host": HOST})
        response = connection.getresponse()
        page = response.read().decode()
        take_cookies(response, cookies)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if not token:
            raise RuntimeError(f"no CSRF token on the admin login page ({response.status})")
        form = urlencode(
            {
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": token.group(1),
                "next": "/admin/",
            }
        )
        connection.request(
            "POST",
            "/admin/login/?next=/admin/",
            body=form,
            headers={
                "Host": HOST,
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"csrftoken={cookies.get('csrftoken', '')}",
            },
        )
        response = connection.getresponse()
        response.read()
        take_cookies(response, cookies)
    finally:
        connection.close()
    if response.status != 302 or "sessionid" not in cookies:
        raise RuntimeError(f"admin login failed ({response.status})")
    # The read-your-writes pin lasts 5 s; an operator browsing the list later has none.
    cookies.pop("db_pin", None)
    return cookies


def take_cookies(response: http.client.HTTPResponse, cookies: dict[str, str]) -> None:
    for header in response.msg.get_all("Set-Cookie") or []:
        for name, morsel in http.cookies.SimpleCookie(header).items():
            cookies[name] = morsel.value
