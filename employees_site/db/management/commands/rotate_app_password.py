"""``rotate_app_password``: a new password for the application user, with no failed request.

Runs as the master user on the writer, under the same named lock as ``migrate``. Run Command
reaches every instance of the group on a schedule; ``--if-older-than-days`` lets the first one
that takes the lock rotate and the others find nothing to do.

The order keeps every request working, and a run that stops half-way leaves a state the site
still works in and the next run completes:
1. the new password is stored in the secret as AWSPENDING (nothing changed on the server yet);
2. the server takes it: on MySQL 8.0.14+ / Aurora MySQL 3 (dual passwords) the password the
   previous rotation retained is discarded first (every process has long since read the current
   one) and the new one is set with ``RETAIN CURRENT PASSWORD``, so old and new both log in; on
   servers without dual passwords (MariaDB) it is simply set, and a process whose cached password
   is refused reads the secret again and finds the new one under AWSPENDING (the backend's
   refresh on 1045). Open connections are never dropped by a password change;
3. AWSCURRENT moves to the new version and the AWSPENDING label is removed.
A run that finds an AWSPENDING version first completes that rotation if the server already takes
its password, and otherwise drops the label and starts afresh.
"""

from __future__ import annotations

import datetime
import json
import secrets

from botocore.exceptions import BotoCoreError, ClientError
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from ....aws import secrets_client
from ... import app_user, credentials, identity
from ...locks import DEFAULT_LOCK_TIMEOUT, schema_lock


class Command(BaseCommand):
    help = (
        "Set a new password for the application user (DB_SECRET_ID) on the writer and in its "
        "secret, as the master user (DB_MIGRATE_SECRET_ID), without failing a request."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-older-than-days",
            type=int,
            default=0,
            metavar="DAYS",
            help="rotate only if the secret last changed more than DAYS days ago (0: always)",
        )
        parser.add_argument(
            "--lock-timeout",
            type=int,
            default=DEFAULT_LOCK_TIMEOUT,
            help=f"seconds to wait for a migrate or rotation to finish (default "
            f"{DEFAULT_LOCK_TIMEOUT})",
        )

    def handle(self, *args, **options):
        days, timeout = options["if_older_than_days"], options["lock_timeout"]
        if days < 0 or timeout < 0:
            raise CommandError("--if-older-than-days and --lock-timeout must be 0 or more")
        connection = connections[DEFAULT_DB_ALIAS]
        if connection.vendor != "mysql" or not identity.master_configured(connection):
            raise CommandError(
                "rotate_app_password needs the MySQL writer with both secrets: DB_SECRET_ID "
                "(the application user) and DB_MIGRATE_SECRET_ID (the master user)"
            )
        secret_id = connection.settings_dict["SECRET_ID"]
        region = connection.settings_dict.get("SECRET_REGION")
        client = secrets_client(region)
        try:
            with identity.as_master(connection), schema_lock(connection, timeout, holder="rotate"):
                # A rotation that stopped half-way is finished first, whether or not one is due.
                if self._finish_interrupted(connection, client, secret_id, region):
                    return
                if days and not self._due(client, secret_id, days):
                    return
                self._rotate(connection, client, secret_id, region)
        except DatabaseError as error:
            raise CommandError(f"the writer refused the rotation: {error}") from None
        except credentials.CredentialsError as error:
            raise CommandError(str(error)) from None
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "Unknown")
            raise CommandError(
                f"Secrets Manager refused the rotation of {secret_id!r}: {code}. The instance "
                "role needs secretsmanager:DescribeSecret, PutSecretValue and "
                "UpdateSecretVersionStage on it."
            ) from None
        except BotoCoreError as error:
            raise CommandError(
                f"cannot reach Secrets Manager ({error.__class__.__name__}). Check the network "
                "path and run again: a rotation that stopped half-way is completed or undone by "
                "the next run, and the site keeps working meanwhile."
            ) from None
        finally:
            credentials.clear()  # this process must not keep a password it just retired

    def _due(self, client, secret_id: str, days: int) -> bool:
        described = client.describe_secret(SecretId=secret_id)
        changed = described.get("LastChangedDate") or described.get("CreatedDate")
        age = datetime.datetime.now(datetime.UTC) - changed
        if age < datetime.timedelta(days=days):
            self.stdout.write(
                f"Not due: {secret_id!r} last changed {age.days} day(s) ago (period {days})."
            )
            return False
        return True

    def _finish_interrupted(self, connection, client, secret_id: str, region: str | None) -> bool:
        """Complete a rotation whose AWSPENDING password the server already takes (True), or
        drop an AWSPENDING it never took (False: nothing was rotated)."""
        current, pending = _versions(client, secret_id)
        if pending is None:
            return False
        left = credentials.read(secret_id, region=region, stage="AWSPENDING")
        if not app_user.password_works(connection, left.username, left.password):
            self._drop_pending(client, secret_id, pending)
            return False
        self._promote(client, secret_id, pending, current)
        self.stdout.write(
            f"Completed the rotation of {left.username!r} in {secret_id!r} that had stopped "
            "after the server took its password."
        )
        return True

    def _rotate(self, connection, client, secret_id: str, region: str | None) -> None:
        user = credentials.read(secret_id, region=region).username
        current, _ = _versions(client, secret_id)
        dual = app_user.supports_dual_passwords(connection)
        # 43 characters of [A-Za-z0-9_-]: nothing that needs quoting in a shell, URL or DSN.
        password = secrets.token_urlsafe(32)
        pending = client.put_secret_value(
            SecretId=secret_id,
            SecretString=json.dumps({"username": user, "password": password}),
            VersionStages=["AWSPENDING"],
        )["VersionId"]
        try:
            if dual:
                app_user.discard_old_password(connection, user=user)
            app_user.set_password(connection, user=user, password=password, retain_current=dual)
        except DatabaseError:
            self._drop_pending(client, secret_id, pending)
            raise
        self._promote(client, secret_id, pending, current)
        how = (
            "the old one is retained until the next rotation"
            if dual
            else "processes holding the old one switch on their next connect"
        )
        self.stdout.write(f"Rotated the password of {user!r} in {secret_id!r}; {how}.")

    @staticmethod
    def _promote(client, secret_id: str, pending: str, current: str) -> None:
        client.update_secret_version_stage(
            SecretId=secret_id,
            VersionStage="AWSCURRENT",
            MoveToVersionId=pending,
            RemoveFromVersionId=current,
        )
        Command._drop_pending(client, secret_id, pending)

    @staticmethod
    def _drop_pending(client, secret_id: str, version: str) -> None:
        client.update_secret_version_stage(
            SecretId=secret_id, VersionStage="AWSPENDING", RemoveFromVersionId=version
        )


def _versions(client, secret_id: str) -> tuple[str, str | None]:
    """The AWSCURRENT version of ``secret_id`` and its AWSPENDING one, if any."""
    stages = client.describe_secret(SecretId=secret_id)["VersionIdsToStages"]
    (current,) = [version for version, labels in stages.items() if "AWSCURRENT" in labels]
    pending = next((v for v, labels in stages.items() if "AWSPENDING" in labels), None)
    return current, pending
