"""Database credentials from Secrets Manager, fetched lazily and cached in the process.

The secret is the one RDS manages for the cluster (``ManageMasterUserPassword``): JSON with
``username`` and ``password``. It is read at the first connect, never at import, and kept until a
connect fails with 1045 (access denied), which is how a rotation shows itself: connections that are
already open keep working while new ones are refused. Then :func:`refresh` reads it afresh with a
direct GetSecretValue, so the request that hit the error retries within milliseconds.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from .. import aws

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:  # never let a password reach a log or a traceback
        return f"Credentials(username={self.username!r}, password=***)"


class CredentialsError(ImproperlyConfigured):
    """The secret could not be read or does not hold a username and a password."""


_cache: dict[str, Credentials] = {}  # secret id -> the credentials that last worked
# Guards the cache and serialises fetches: threads that miss together make one call, not one each.
_lock = threading.Lock()


def get(secret_id: str, *, region: str | None = None) -> Credentials:
    """The cached credentials of ``secret_id``, fetched on first use."""
    cached = _cache.get(secret_id)
    if cached is not None:
        return cached
    with _lock:
        cached = _cache.get(secret_id)
        if cached is None:
            cached = _cache[secret_id] = _fetch(secret_id, region, "AWSCURRENT")
        return cached


def refresh(secret_id: str, *, region: str | None = None, refused: Credentials) -> Credentials:
    """AWSCURRENT read afresh because ``refused`` was denied (1045), unless another thread
    already replaced it: then that value, without another call."""
    with _lock:
        cached = _cache.get(secret_id)
        if cached is None or cached == refused:
            cached = _cache[secret_id] = _fetch(secret_id, region, "AWSCURRENT")
        return cached


def read(secret_id: str, *, region: str | None = None) -> Credentials:
    """AWSCURRENT read now, past the cache (a command that changes the password)."""
    return _fetch(secret_id, region, "AWSCURRENT")


def pending(secret_id: str, *, region: str | None = None) -> Credentials:
    """AWSPENDING, which exists only while a rotation is in progress (else CredentialsError)."""
    return _fetch(secret_id, region, "AWSPENDING")


def remember(secret_id: str, credentials: Credentials) -> None:
    """Use ``credentials`` for ``secret_id`` from now on (AWSPENDING during a rotation)."""
    with _lock:
        _cache[secret_id] = credentials


def clear() -> None:
    """Forget every cached secret (tests, and a process that wants a clean start)."""
    with _lock:
        _cache.clear()


def _fetch(secret_id: str, region: str | None, stage: str) -> Credentials:
    try:
        value = json.loads(aws.secret_string(secret_id, region=region, stage=stage))
        credentials = Credentials(username=str(value["username"]), password=str(value["password"]))
    except aws.SecretError as error:
        raise CredentialsError(f"database credentials: {error}") from None
    except (KeyError, TypeError, ValueError):
        raise CredentialsError(
            f"database secret {secret_id!r} ({stage}) is not JSON with 'username' and 'password'"
        ) from None
    logger.info("read database credentials from %s (%s)", secret_id, stage)
    return credentials
