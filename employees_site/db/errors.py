"""MySQL error codes the data layer acts on, in one place."""

from __future__ import annotations

from django.db import DatabaseError

from .credentials import CredentialsError

ACCESS_DENIED = 1045
# Client-side codes for "could not reach the server": socket, TCP, unknown host, gone, lost.
UNREACHABLE = frozenset({2002, 2003, 2005, 2006, 2013})
# The server is going away: shutting down, our connection killed.
SHUTTING_DOWN = frozenset({1053, 1927})
# The writer became read-only (a failover demoted it): read-only option, read-only mode.
READ_ONLY = frozenset({1290, 1836})
UNAVAILABLE = UNREACHABLE | SHUTTING_DOWN | READ_ONLY


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
