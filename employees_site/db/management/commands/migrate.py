"""``migrate`` on the writer only, as the master user, under a MySQL named lock.

Instances of an Auto Scaling group boot together and each runs ``migrate``. On MySQL the first
takes the lock and applies the migrations; the others wait for it, then find nothing left to
apply. With a master secret configured (``DB_MIGRATE_SECRET_ID``) it connects as the master and,
after the migrations, makes sure the application user of ``DB_SECRET_ID`` exists with its
password and exactly its data privileges (``employees_site.db.app_user``).
"""

from __future__ import annotations

from django.core.management.base import CommandError
from django.core.management.commands import migrate
from django.db import DEFAULT_DB_ALIAS, connections

from ... import app_user, credentials, identity
from ...locks import DEFAULT_LOCK_TIMEOUT, schema_lock


class Command(migrate.Command):
    help = (
        migrate.Command.help
        + " Runs on the writer only, as the master user, under a named lock on MySQL."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--lock-timeout",
            type=int,
            default=DEFAULT_LOCK_TIMEOUT,
            help=f"seconds to wait for another migrate to finish (default {DEFAULT_LOCK_TIMEOUT})",
        )

    def execute(self, *args, **options):
        connection = connections[options["database"]]
        _preload_secrets(connection)
        # As the master from the start: the system checks Django runs before handle() connect too.
        with identity.as_master(connection):
            return super().execute(*args, **options)

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
        app_secret = connection.settings_dict.get("SECRET_ID")  # the master's is MIGRATE_SECRET_ID
        with schema_lock(connection, timeout):
            result = super().handle(*args, **options)
            if identity.master_configured(connection) and app_secret:
                self._ensure_app_user(connection, app_secret, options["verbosity"])
            return result

    def _ensure_app_user(self, connection, app_secret: str, verbosity: int) -> None:
        settings_dict = connection.settings_dict
        found = credentials.get(app_secret, region=settings_dict.get("SECRET_REGION"))
        changes = app_user.ensure(
            connection,
            user=found.username,
            password=found.password,
            database=settings_dict["NAME"],
        )
        if verbosity >= 1:
            for change in changes or [f"application user {found.username!r} is up to date"]:
                self.stdout.write(f"  App user: {change}")


def _preload_secrets(connection) -> None:
    """Read the alias's secrets before connecting, without the request-sized deadline: at boot
    the first read (a cold client, the instance role's credentials) can take longer, and migrate
    runs once. A secret that cannot be read is a clear CommandError."""
    settings_dict = connection.settings_dict
    region = settings_dict.get("SECRET_REGION")
    for secret_id in {settings_dict.get("SECRET_ID"), settings_dict.get("MIGRATE_SECRET_ID")}:
        if secret_id:
            try:
                credentials.preload(secret_id, region=region)
            except credentials.CredentialsError as error:
                raise CommandError(str(error)) from None
