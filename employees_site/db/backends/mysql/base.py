"""Django's MySQL backend, with user and password taken from Secrets Manager at connect time.

Set ``SECRET_ID`` (and optionally ``SECRET_REGION``) in the alias's settings; USER and PASSWORD
are then ignored. ``MIGRATE_SECRET_ID`` is the master's secret, used inside
``identity.as_master``. On error 1045 (access denied) at connect, the secret is read afresh and
the connect retried once; if AWSCURRENT is still refused, AWSPENDING is tried once, which covers
the moment of a rotation between the password change and the stage move. If both are refused,
the secret is not read again before a backoff (``credentials.refused``).
"""

from __future__ import annotations

import logging

from django.db.backends.mysql import base, creation

from ... import credentials, identity
from ...errors import ACCESS_DENIED, UNREACHABLE, code

logger = logging.getLogger(__name__)

# Which environment variables set each alias (see settings.py), for messages that say what to fix.
VARIABLES = {"default": "DB_WRITER_HOST/DB_WRITER_PORT", "reader": "DB_READER_HOST/DB_READER_PORT"}

Database = base.Database


class DatabaseCreation(creation.DatabaseCreation):
    """Test databases are created and dropped as the master user: the app user has no DDL."""

    def create_test_db(self, *args, **kwargs):
        with identity.as_master(self.connection):
            return super().create_test_db(*args, **kwargs)

    def destroy_test_db(self, *args, **kwargs):
        with identity.as_master(self.connection):
            return super().destroy_test_db(*args, **kwargs)


class DatabaseWrapper(base.DatabaseWrapper):
    creation_class = DatabaseCreation

    def _secret(self) -> tuple[str | None, str | None]:
        return identity.secret_id(self.settings_dict), self.settings_dict.get("SECRET_REGION")

    def get_connection_params(self):
        params = super().get_connection_params()
        secret_id, region = self._secret()
        if secret_id:
            found = credentials.get(secret_id, region=region)
            params["user"], params["password"] = found.username, found.password
        return params

    def get_new_connection(self, conn_params):
        try:
            return self._connect(conn_params)
        except Database.OperationalError as error:
            if code(error) in UNREACHABLE:
                where = f"{conn_params.get('host')}:{conn_params.get('port', 3306)}"
                variables = VARIABLES.get(self.alias, "its HOST/PORT settings")
                raise Database.OperationalError(
                    error.args[0],
                    f"cannot reach database alias '{self.alias}' at {where} ({error.args[1]}); "
                    f"check {variables} and that this host may connect to it",
                ) from None
            raise

    def _connect(self, conn_params):
        secret_id, region = self._secret()
        try:
            return super().get_new_connection(conn_params)
        except Database.OperationalError as error:
            if not secret_id or code(error) != ACCESS_DENIED:
                raise
            refused_error = error
        logger.warning("access denied on %s; reading the database secret again", self.alias)
        refused = credentials.Credentials(conn_params["user"], conn_params["password"])
        tried = {refused}
        for candidate in self._candidates(secret_id, region, refused):
            if candidate in tried:
                continue
            tried.add(candidate)
            retry = {**conn_params, "user": candidate.username, "password": candidate.password}
            try:
                connection = super().get_new_connection(retry)
            except Database.OperationalError as error:
                if code(error) != ACCESS_DENIED:
                    raise
                continue
            credentials.remember(secret_id, candidate)
            return connection
        # Neither value works: the secret is not read again before the backoff (a password
        # changed ahead of its secret, an expired credential), so a storm of refused connects
        # does not become a storm of GetSecretValue calls.
        message = (
            f"the database refused the credentials of secret {secret_id!r} (error "
            f"{ACCESS_DENIED}, also after reading it again)"
        )
        credentials.refused(secret_id, message)
        raise Database.OperationalError(
            ACCESS_DENIED, f"database alias '{self.alias}': {message}: {refused_error.args[1]}"
        ) from None

    @staticmethod
    def _candidates(secret_id, region, refused):
        """AWSCURRENT read afresh, then AWSPENDING if a rotation is in progress."""
        yield credentials.refresh(secret_id, region=region, refused=refused)
        try:
            yield credentials.pending(secret_id, region=region)
        except credentials.CredentialsError:
            return  # no rotation in progress: the pending stage does not exist
