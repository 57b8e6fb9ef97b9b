"""The floor, as a WSGI app: the site's SQL and JSON on one persistent connection per thread.

No framework, no routing, no middleware: what is left is the HTTP server, the query and the JSON.
Credentials are read from Secrets Manager once per process, as the site does.
Serve with gunicorn: ``tests.bench.floor:application``.
"""

from __future__ import annotations

import threading

import MySQLdb

from . import page

_settings = page.settings()
_credentials: tuple[str, str] | None = None
_lock = threading.Lock()
_local = threading.local()


def _connection() -> MySQLdb.Connection:
    global _credentials
    connection = getattr(_local, "connection", None)
    if connection is None:
        with _lock:
            if _credentials is None:
                client = page.secrets_client(_settings["region"])
                _credentials = page.fetch_credentials(client, _settings["secret_id"])
        connection = MySQLdb.connect(
            host=_settings["host"],
            port=_settings["port"],
            user=_credentials[0],
            password=_credentials[1],
            database=_settings["database"],
            charset="utf8mb4",
            connect_timeout=5,
            autocommit=True,
        )
        _local.connection = connection
    return connection


def application(environ, start_response):
    limit = page.limit_of(environ)
    if limit is None:
        return page.bad_request(start_response)
    cursor = _connection().cursor()
    try:
        cursor.execute(page.SQL, (limit + 1,))
        rows = list(cursor.fetchall())
    finally:
        cursor.close()
    return page.respond(start_response, "200 OK", page.body(environ, rows, limit))
