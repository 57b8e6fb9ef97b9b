"""The demo's way, as a WSGI app: a Secrets Manager fetch and a new MySQL connection per request.

The one concession to it: the boto3 client is made once per process (making it per request would
only slow this app further), so what is measured is the fetch and the connect themselves.
Serve with gunicorn: ``tests.bench.blog_way:application``.
"""

from __future__ import annotations

import threading

import MySQLdb

from . import page

_settings = page.settings()
_client = None
_client_lock = threading.Lock()


def _secrets():
    global _client
    with _client_lock:
        if _client is None:
            _client = page.secrets_client(_settings["region"])
        return _client


def application(environ, start_response):
    limit = page.limit_of(environ)
    if limit is None:
        return page.bad_request(start_response)
    user, password = page.fetch_credentials(_secrets(), _settings["secret_id"])
    connection = MySQLdb.connect(
        host=_settings["host"],
        port=_settings["port"],
        user=user,
        password=password,
        database=_settings["database"],
        charset="utf8mb4",
        connect_timeout=5,
    )
    try:
        cursor = connection.cursor()
        cursor.execute(page.SQL, (limit + 1,))
        rows = list(cursor.fetchall())
    finally:
        connection.close()
    return page.respond(start_response, "200 OK", page.body(environ, rows, limit))
