"""MySQL error codes the data layer acts on, in one place.

Each code here is a condition of the service, not of the code: the request that meets it answers
503 with Retry-After, and its log line names the condition (``cause``) in words that carry no
host, user or password (server messages carry the client's host and user, so they are not used).
"""

from __future__ import annotations

from django.db import DatabaseError

from .credentials import CredentialsError

ACCESS_DENIED = 1045
# Client-side codes for "could not reach the server": socket, TCP, unknown host, gone, lost, TLS.
UNREACHABLE = frozenset({2001, 2002, 2003, 2004, 2005, 2006, 2013, 2026, 2055})
# The server is going away or broke the connection: shutting down, our connection killed,
# aborted, network read/write errors, a statement interrupted (failover, KILL QUERY).
SHUTTING_DOWN = frozenset({1053, 1152, 1158, 1159, 1160, 1161, 1184, 1317, 1927})
# The writer became read-only (a failover demoted it): read-only option, read-only mode,
# read-only transaction.
READ_ONLY = frozenset({1290, 1792, 1836})
# The server refuses this client now: the password (a rotation, an expired credential), the
# grants, this host, or a limit (too many connections, max_user_connections, an hourly resource
# limit, no thread or memory for a new connection).
REFUSED = frozenset({1040, 1041, 1044, 1045, 1129, 1130, 1135, 1203, 1226})
# A statement lost a race or ran out of time; the connection itself is fine: lock wait timeout,
# deadlock, MySQL's max_execution_time, MariaDB's max_statement_time.
CONTENTION = frozenset({1205, 1213, 3024, 1969})
UNAVAILABLE = UNREACHABLE | SHUTTING_DOWN | READ_ONLY | REFUSED | CONTENTION

_CAUSES = {
    **dict.fromkeys(UNREACHABLE, "the database server cannot be reached"),
    **dict.fromkeys(SHUTTING_DOWN, "the database server closed the connection or is shutting down"),
    **dict.fromkeys(READ_ONLY, "the writer is read-only (a failover demoted it)"),
    1040: "too many connections on the server (max_connections)",
    1041: "the server is out of memory",
    1044: "the database user has no access to this database (grants)",
    1045: "access denied: the server refused the secret's password (a rotation in progress, "
    "or the secret does not match the user)",
    1129: "this host is blocked after too many connection errors (FLUSH HOSTS)",
    1130: "this host may not connect as the database user",
    1135: "the server cannot create a thread for a new connection",
    1203: "the database user has reached max_user_connections",
    1226: "the database user has exceeded a resource limit (max_queries/updates/connections "
    "per hour)",
    1205: "lock wait timeout",
    1213: "deadlock",
    3024: "statement timeout (max_execution_time)",
    1969: "statement timeout (max_statement_time)",
}


def code(error: BaseException) -> int | None:
    """The MySQL error code of a driver or Django database error, if it has one."""
    first = error.args[0] if error.args else None
    return first if isinstance(first, int) else None


# What "cannot reach the database" looks like to the code above the connection: a connection
# error from the driver, or no credentials because Secrets Manager could not be read.
CONNECT_ERRORS = (DatabaseError, CredentialsError)


def unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database is (briefly) out of reach, not a bug."""
    if isinstance(error, CredentialsError):
        return True
    return isinstance(error, DatabaseError) and code(error) in UNAVAILABLE


def connection_suspect(error: BaseException) -> bool:
    """Whether the connection that raised ``error`` may be its cause, and is to be dropped.

    Contention (a lock wait, a deadlock, a timeout) leaves the connection sound; a refusal, a
    limit or a broken link may not (a connection over its hourly quota fails every statement)."""
    return code(error) not in CONTENTION


def cause(error: BaseException) -> str:
    """What went wrong, for the log: the condition for a MySQL code, the message we wrote for
    a secret that could not be read (it names the secret id and the AWS error, never a value)."""
    if isinstance(error, CredentialsError):
        return str(error)
    found = code(error)
    if found in _CAUSES:
        return f"{_CAUSES[found]} (MySQL error {found})"
    return error.__class__.__name__ if found is None else f"MySQL error {found}"
