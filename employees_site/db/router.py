"""The writer/reader router: writes and migrations to the writer, reads to the reader when safe.

Reads go to the writer inside a transaction on the writer, after a write in the same request,
within the pinning window after this client's last write (the cookie set by the middleware), inside
``use_writer()``, while the reader is unreachable (until its cooldown passes), and always for the
data that must never be stale for the user it belongs to: the session and the user it logs in. A
reader that lags past the pin window would otherwise have no session row for a fresh login (Django
then empties the session and deletes the cookie: logged out for good), or the user's old password
hash after a password change (the session's hash no longer matches: logged out too). Both are one
primary-key read per request.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connections

from . import routing
from .errors import CONNECT_ERRORS
from .routing import READER, WRITER, reader_health

# Models read on the writer whatever the request: the session and the user model it logs in.
WRITER_ONLY = frozenset({"sessions.session", settings.AUTH_USER_MODEL.lower()})


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints) -> str:
        if (
            model._meta.label_lower in WRITER_ONLY
            or routing.writer_required()
            or not reader_health.usable()
        ):
            return WRITER
        reader = connections[READER]
        try:
            # Connect (or replace a connection that failed its health check) now, so an
            # unreachable reader sends this read to the writer instead of failing it.
            reader.close_if_health_check_failed()
            reader.ensure_connection()
        except CONNECT_ERRORS as error:
            reader.close()
            reader_health.failed(error, settings.DATABASE_READER_COOLDOWN)
            return WRITER
        reader_health.succeeded()
        return READER

    def db_for_write(self, model, **hints) -> str:
        return WRITER

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        if {obj1._state.db, obj2._state.db} <= {WRITER, READER}:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == WRITER
