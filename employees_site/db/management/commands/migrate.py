"""``migrate`` on the writer only, under a MySQL named lock.

Instances of an Auto Scaling group boot together and each runs ``migrate``. On MySQL the first
takes the lock ``GET_LOCK`` and applies the migrations; the others wait for it, then find nothing
left to apply. The lock lives in the connection's session, so it is released when migrate ends,
and by the server if the process dies. Named locks are server-wide, so the name includes the
database: two databases on one server (staging and a test database, say) migrate side by side.
"""

from __future__ import annotations

import contextlib
import hashlib

from django.core.management.base import CommandError
from django.core.management.commands import migrate
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

LOCK_PREFIX = "employees_site.migrate"
# MySQL and MariaDB refuse lock names longer than 64 characters (error 3057 on MySQL).
_LOCK_NAME_MAX = 64
DEFAULT_LOCK_TIMEOUT = 600


class Command(migrate.Command):
    help = migrate.Command.help + " Runs on the writer only, under a named lock on MySQL."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--lock-timeout",
            type=int,
            default=DEFAULT_LOCK_TIMEOUT,
            help=f"seconds to wait for another migrate to finish (default {DEFAULT_LOCK_TIMEOUT})",
        )

    def handle(self, *args, **options):
        database = options["database"]
        if database != DEFAULT_DB_ALIAS:
            raise CommandError(
                f"migrations run on the writer ('{DEFAULT_DB_ALIAS}') only; the reader "
                f"'{database}' receives the schema by replication"
            )
        timeout = options["lock_timeout"]
        if timeout < 0:
            raise CommandError(f"--lock-timeout must be 0 or more, got {timeout}")
        connection = connections[database]
        if connection.vendor != "mysql":
            return super().handle(*args, **options)
        lock = lock_name(connection.settings_dict["NAME"])
        with _without_read_timeout(connection):
            with connection.cursor() as cursor:
                cursor.execute("SELECT GET_LOCK(%s, %s)", [lock, timeout])
                (acquired,) = cursor.fetchone()
            if acquired != 1:
                raise CommandError(
                    f"another migrate has held the lock {lock!r} on the writer for more "
                    f"than {timeout}s; wait for it to finish (or find it in SHOW PROCESSLIST) "
                    "and run again"
                )
            try:
                return super().handle(*args, **options)
            finally:
                _release(connection, lock)


@contextlib.contextmanager
def _without_read_timeout(connection):
    """The request-sized read/write timeouts off for this connection while migrate runs.

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


def lock_name(database: str) -> str:
    """The named lock of migrations on ``database``: the prefix and the name, or its digest
    where that would pass the server's 64-character limit."""
    name = f"{LOCK_PREFIX}:{database}"
    if len(name) <= _LOCK_NAME_MAX:
        return name
    return f"{LOCK_PREFIX}:{hashlib.sha256(database.encode()).hexdigest()[:32]}"


def _release(connection, lock: str) -> None:
    # Never let a failure to release hide the migration's own error: the server releases a
    # session's locks when the connection closes anyway.
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT RELEASE_LOCK(%s)", [lock])
    except DatabaseError:
        connection.close()
