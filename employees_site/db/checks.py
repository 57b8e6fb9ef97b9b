"""System checks for the database configuration, each with an id (``manage.py check``)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from .routing import READER, WRITER

BACKEND = "employees_site.db.backends.mysql"


@register(Tags.database)
def check_database_aliases(app_configs=None, **kwargs) -> list[CheckMessage]:
    return database_errors(settings.DATABASES, settings.DJANGO_ENV)


def database_errors(databases: dict, django_env: str) -> list[CheckMessage]:
    """The misconfigurations of ``databases`` for a site running in ``django_env``."""
    errors: list[CheckMessage] = []
    if READER not in databases:
        errors.append(
            Error(
                "DATABASES has no 'reader' alias.",
                hint="Define it (the reader endpoint, or the writer again) so reads can be routed.",
                id="aurora.E001",
            )
        )
    mysql = [alias for alias, db in databases.items() if "mysql" in db.get("ENGINE", "")]
    for alias in mysql:
        if databases[alias]["ENGINE"] != BACKEND:
            errors.append(
                Error(
                    f"Database alias '{alias}' uses {databases[alias]['ENGINE']}, "
                    f"not the project's backend.",
                    hint=f"Set ENGINE to '{BACKEND}' so credentials come from Secrets Manager "
                    f"and survive rotation.",
                    id="aurora.E002",
                )
            )
    if django_env == "production":
        for alias in (WRITER, READER):
            db = databases.get(alias, {})
            if db.get("ENGINE") != BACKEND:
                errors.append(
                    Error(
                        f"Production needs alias '{alias}' on the Aurora backend "
                        f"(found {db.get('ENGINE', 'nothing')}).",
                        hint="Set DB_WRITER_HOST, DB_READER_HOST, DB_NAME and DB_SECRET_ID.",
                        id="aurora.E003",
                    )
                )
            elif not db.get("HOST") or not db.get("SECRET_ID"):
                errors.append(
                    Error(
                        f"Alias '{alias}' has no host or no secret id.",
                        hint="Set DB_WRITER_HOST, DB_READER_HOST and DB_SECRET_ID.",
                        id="aurora.E004",
                    )
                )
        writer, reader = databases.get(WRITER, {}), databases.get(READER, {})
        if reader and (reader.get("HOST"), reader.get("PORT")) == (
            writer.get("HOST"),
            writer.get("PORT"),
        ):
            errors.append(
                Warning(
                    "The reader alias reaches the writer: every read goes to the writer.",
                    hint="Set DB_READER_HOST to the cluster's reader endpoint "
                    "(the stack output ReaderEndpoint).",
                    id="aurora.W001",
                )
            )
    return errors
