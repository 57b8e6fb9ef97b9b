"""Which database identity a connection uses: the application user, or the master for DDL.

The site's web processes connect as the application user (``DB_SECRET_ID``: SELECT, INSERT,
UPDATE and DELETE on the application database, nothing else). Migrations, the test database and
the management of the application user itself need the cluster's master user
(``DB_MIGRATE_SECRET_ID``). Settings put that secret on the writer alias as ``MIGRATE_SECRET_ID``;
:func:`as_master` makes the alias connect with it for the duration of one command. Without it
(SQLite, a single-user set-up) there is one identity and :func:`as_master` changes nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

APPLICATION = "application user (DB_SECRET_ID)"
MASTER = "master user (DB_MIGRATE_SECRET_ID)"


def master_configured(connection) -> bool:
    """Whether ``connection``'s alias has a separate master identity for DDL."""
    return bool(connection.settings_dict.get("MIGRATE_SECRET_ID"))


def secret_id(settings_dict: dict) -> str | None:
    """The secret a connection with these settings takes its user and password from now."""
    if settings_dict.get("AS_MASTER") and settings_dict.get("MIGRATE_SECRET_ID"):
        return settings_dict["MIGRATE_SECRET_ID"]
    return settings_dict.get("SECRET_ID") or None


def describe(connection) -> str:
    """The identity ``connection`` uses, by the variable that names its secret (never a value)."""
    settings_dict = connection.settings_dict
    if not settings_dict.get("SECRET_ID"):
        return "the alias's own USER setting"
    if secret_id(settings_dict) == settings_dict.get("MIGRATE_SECRET_ID"):
        return MASTER
    return APPLICATION


@contextlib.contextmanager
def as_master(connection) -> Iterator[None]:
    """Connect ``connection`` as the master user inside the block, as the app user after it.

    The connection is closed on entering and on leaving, so no session opened as one identity
    is reused as the other. Nested use keeps the outer swap. The flag lives in the alias's
    settings, so the connections Django derives from them (the no-database connection that
    creates a test database) use the master too.
    """
    settings_dict = connection.settings_dict
    if not master_configured(connection) or settings_dict.get("AS_MASTER"):
        yield
        return
    connection.close()
    settings_dict["AS_MASTER"] = True
    try:
        yield
    finally:
        connection.close()
        settings_dict.pop("AS_MASTER", None)
