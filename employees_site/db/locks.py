"""The named lock that serialises schema and user changes on the writer.

``migrate`` and ``rotate_app_password`` take it, so instances booting together migrate once, and
Run Command reaching every instance rotates the password once. The lock lives in the connection's
session: it is released when the block ends, and by the server if the process dies. Named locks
are server-wide, so the name includes the database: two databases on one server (staging and a
test database, say) migrate side by side.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator

from django.core.management.base import CommandError
from django.db import DatabaseError

LOCK_PREFIX = "employees_site.migrate"
# MySQL and MariaDB refuse lock names longer than 64 characters (error 3057 on MySQL).
_LOCK_NAME_MAX = 64
DEFAULT_LOCK_TIMEOUT = 600


def lock_name(database: str) -> str:
    """The named lock of ``database``: the prefix and the name, or its digest where that would
    pass the server's 64-character limit."""
    name = f"{LOCK_PREFIX}:{database}"
    if len(name) <= _LOCK_NAME_MAX:
        return name
    return f"{LOCK_PREFIX}:{hashlib.sha256(database.encode()).hexdigest()[:32]}"


@contextlib.contextmanager
def schema_lock(connection, timeout: int, *, holder: str = "migrate") -> Iterator[None]:
    """Hold the named lock on ``connection`` (MySQL) inside the block; CommandError after
    ``timeout`` seconds of waiting. The connection's request-sized timeouts are off meanwhile."""
    lock = lock_name(connection.settings_dict["NAME"])
    with _without_read_timeout(connection):
        with connection.cursor() as cursor:
            cursor.execute("SELECT GET_LOCK(%s, %s)", [lock, timeout])
            (acquired,) = cursor.fetchone()
        if acquired != 1:
            raise CommandError(
                f"another migrate or password rotation has held the lock {lock!r} on the "
                f"writer for more than {timeout}s, so {holder} did not run; wait for it to finish "
                "(or find it in SHOW PROCESSLIST) and run again"
            )
        try:
            yield
        finally:
            _release(connection, lock)


@contextlib.contextmanager
def _without_read_timeout(connection):
    """The request-sized read/write timeouts off for this connection while the lock is held.

    Waiting for the lock and a long ALTER TABLE both outlast them; the client would drop the
    connection mid-migration while the server goes on, leaving django_migrations behind.
    """
    options = connection.settings_dict["OPTIONS"]
    connection.close()
    connection.settings_dict["OPTIONS"] = {
        key: value for key, value in options.items() if key not in ("read_timeout", "write_timeout")
    }
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["OPTIONS"] = options


def _release(connection, lock: str) -> None:
    # Never let a failure to release hide the command's own error: the server releases a
    # session's locks when the connection closes anyway.
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT RELEASE_LOCK(%s)", [lock])
    except DatabaseError:
        connection.close()
