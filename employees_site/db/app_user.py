"""The application database user: created, granted and re-passworded by the master user.

The locked ``migrate`` calls :func:`ensure` after applying migrations, and
``rotate_app_password`` calls :func:`set_password`; both run as the master (see ``identity``).
The user gets exactly the data privileges below on the application database and nothing for DDL,
so a SQL injection or a bug in a view cannot drop a table, create a user or read ``mysql.*``.
Passwords travel only as query parameters, never in a message or a log line.
"""

from __future__ import annotations

from dataclasses import dataclass

# What Django needs at run time: sessions, the admin's log, login throttling, the employees.
PRIVILEGES = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})
# Where a user that does not exist yet is created: from anywhere in the VPC (the security group,
# not the host part, limits who reaches the cluster).
DEFAULT_HOST = "%"


@dataclass(frozen=True)
class Account:
    user: str
    host: str

    def __str__(self) -> str:
        return f"'{self.user}'@'{self.host}'"


def grant_pattern(database: str) -> str:
    """``database`` as a GRANT names it: ``_`` and ``%`` are wildcards there, so escape them."""
    return database.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")


def accounts(cursor, user: str) -> list[Account]:
    """The ``user@host`` accounts that exist for ``user``."""
    cursor.execute("SELECT Host FROM mysql.user WHERE User = %s ORDER BY Host", [user])
    return [Account(user, host) for (host,) in cursor.fetchall()]


def ensure(connection, *, user: str, password: str, database: str) -> list[str]:
    """Make ``user`` exist with ``password`` and exactly :data:`PRIVILEGES` on ``database``.

    Idempotent: a second run with the same secret changes nothing. Returns what it changed, in
    words fit for a log (no password).
    """
    changes: list[str] = []
    with connection.cursor() as cursor:
        existing = accounts(cursor, user)
        if not existing:
            account = Account(user, DEFAULT_HOST)
            cursor.execute("CREATE USER %s@%s IDENTIFIED BY %s", [user, account.host, password])
            changes.append(f"created {account}")
            existing = [account]
        elif not password_works(connection, user, password):
            for account in existing:
                _alter_password(cursor, account, password)
            changes.append(f"set the password of {user!r} from its secret")
        pattern = grant_pattern(database)
        for account in existing:
            held = _schema_privileges(cursor, account, pattern)
            missing, extra = PRIVILEGES - held, held - PRIVILEGES
            if missing:
                cursor.execute(
                    f"GRANT {', '.join(sorted(missing))} ON `{_quoted(pattern)}`.* TO %s@%s",
                    [account.user, account.host],
                )
                changes.append(f"granted {', '.join(sorted(missing))} on {database} to {account}")
            if extra:
                cursor.execute(
                    f"REVOKE {', '.join(sorted(extra))} ON `{_quoted(pattern)}`.* FROM %s@%s",
                    [account.user, account.host],
                )
                changes.append(f"revoked {', '.join(sorted(extra))} on {database} from {account}")
    return changes


def set_password(connection, *, user: str, password: str, retain_current: bool = False) -> None:
    """Give every account of ``user`` ``password``; with ``retain_current`` (MySQL 8.0.14+,
    Aurora MySQL 3) the old one keeps working as a secondary password until discarded."""
    with connection.cursor() as cursor:
        for account in accounts(cursor, user):
            _alter_password(cursor, account, password, retain_current=retain_current)


def discard_old_password(connection, *, user: str) -> None:
    """Drop the secondary password a previous rotation retained (dual-password servers only)."""
    with connection.cursor() as cursor:
        for account in accounts(cursor, user):
            cursor.execute("ALTER USER %s@%s DISCARD OLD PASSWORD", [account.user, account.host])


def supports_dual_passwords(connection) -> bool:
    """MySQL 8.0.14+ (Aurora MySQL 3) keeps a retained password; MariaDB has no such thing."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT VERSION()")
        (version,) = cursor.fetchone()
    if "mariadb" in version.lower():
        return False
    numbers = tuple(int(part) for part in version.split("-")[0].split(".")[:3] if part.isdigit())
    return numbers >= (8, 0, 14)


def _alter_password(cursor, account: Account, password: str, *, retain_current=False) -> None:
    retain = " RETAIN CURRENT PASSWORD" if retain_current else ""
    cursor.execute(
        f"ALTER USER %s@%s IDENTIFIED BY %s{retain}", [account.user, account.host, password]
    )


def _schema_privileges(cursor, account: Account, pattern: str) -> set[str]:
    cursor.execute(
        "SELECT PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES "
        "WHERE GRANTEE = %s AND TABLE_SCHEMA = %s",
        [f"'{account.user}'@'{account.host}'", pattern],
    )
    return {privilege for (privilege,) in cursor.fetchall()}


def _quoted(identifier: str) -> str:
    """A backquoted identifier inside a query that also has parameters (``%`` doubled)."""
    return identifier.replace("`", "``").replace("%", "%%")


def password_works(connection, user: str, password: str) -> bool:
    """Whether ``user`` can log in with ``password`` on the server ``connection`` reaches."""
    params = connection.get_connection_params()
    params.update(user=user, password=password)
    params.pop("db", None)
    params.pop("database", None)
    try:
        probe = connection.Database.connect(**params)
    except connection.Database.Error:
        return False
    probe.close()
    return True
