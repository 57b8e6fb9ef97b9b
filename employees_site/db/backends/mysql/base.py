"""Django's MySQL backend, with user and password taken from Secrets Manager at connect time.

Set ``SECRET_ID`` (and optionally ``SECRET_REGION``) in the alias's settings; USER and PASSWORD
are then ignored. On error 1045 (access denied) at connect, the secret is read afresh and the
connect retried once; if AWSCURRENT is still refused, AWSPENDING is tried once, which covers the
moment of a rotation between the password change and the stage move.
"""

from __future__ import annotations

import logging

from django.db.backends.mysql import base

from ... import credentials

logger = logging.getLogger(__name__)

ACCESS_DENIED = 1045
# Client-side codes for "could not reach the server": socket, TCP, unknown host, gone, lost.
UNREACHABLE = {2002, 2003, 2005, 2006, 2013}
# Which environment variables set each alias (see settings.py), for messages that say what to fix.
VARIABLES = {"default": "DB_WRITER_HOST/DB_WRITER_PORT", "reader": "DB_READER_HOST/DB_READER_PORT"}

Database = base.Database


class DatabaseWrapper(base.DatabaseWrapper):
    def _secret(self) -> tuple[str | None, str | None]:
        return self.settings_dict.get("SECRET_ID"), self.settings_dict.get("SECRET_REGION")

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
            if error.args and error.args[0] in UNREACHABLE:
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
            if not secret_id or error.args[0] != ACCESS_DENIED:
                raise
            first_error = error
        logger.warning("access denied on %s; reading the database secret again", self.alias)
        for stage in ("AWSCURRENT", "AWSPENDING"):
            try:
                found = credentials.refresh(secret_id, region=region, stage=stage)
            except credentials.CredentialsError:
                if stage == "AWSPENDING":
                    break  # no rotation in progress: the pending stage does not exist
                raise
            retry = {**conn_params, "user": found.username, "password": found.password}
            try:
                connection = super().get_new_connection(retry)
            except Database.OperationalError as error:
                if error.args[0] != ACCESS_DENIED:
                    raise
                continue
            credentials.remember(secret_id, found)
            return connection
        raise Database.OperationalError(
            ACCESS_DENIED,
            f"database alias '{self.alias}' refused the credentials of secret {secret_id!r} "
            f"(also after reading it again): {first_error.args[1]}",
        ) from None
