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

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from django.core.exceptions import ImproperlyConfigured

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
_lock = threading.Lock()
_clients: dict[str | None, object] = {}


def get(secret_id: str, *, region: str | None = None) -> Credentials:
    """The cached credentials of ``secret_id``, fetched on first use."""
    cached = _cache.get(secret_id)
    if cached is not None:
        return cached
    return refresh(secret_id, region=region)


def refresh(secret_id: str, *, region: str | None = None, stage: str = "AWSCURRENT") -> Credentials:
    """Fetch ``stage`` of the secret now; AWSCURRENT replaces the cached value."""
    credentials = _fetch(secret_id, region, stage)
    if stage == "AWSCURRENT":
        remember(secret_id, credentials)
    return credentials


def remember(secret_id: str, credentials: Credentials) -> None:
    """Use ``credentials`` for ``secret_id`` from now on (e.g. AWSPENDING during a rotation)."""
    with _lock:
        _cache[secret_id] = credentials


def clear() -> None:
    """Forget every cached secret (tests, and a process that wants a clean start)."""
    with _lock:
        _cache.clear()


def client(region: str | None = None):
    """The Secrets Manager client this process uses for ``region`` (one per region)."""
    existing = _clients.get(region)
    if existing is not None:
        return existing
    with _lock:
        if region not in _clients:
            # Endpoint and credentials come from boto3's own chain (AWS_ENDPOINT_URL in tests,
            # the instance profile on EC2); the region is passed in from settings.
            _clients[region] = boto3.client("secretsmanager", region_name=region)
        return _clients[region]


def _fetch(secret_id: str, region: str | None, stage: str) -> Credentials:
    try:
        response = client(region).get_secret_value(SecretId=secret_id, VersionStage=stage)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "Unknown")
        raise CredentialsError(
            f"cannot read database secret {secret_id!r} ({stage}): {code}. Check DB_SECRET_ID and "
            f"that this role may call secretsmanager:GetSecretValue on it."
        ) from None
    except BotoCoreError as error:
        raise CredentialsError(
            f"cannot reach Secrets Manager for {secret_id!r}: {error.__class__.__name__}. "
            f"Check AWS_REGION and the network path to the Secrets Manager endpoint."
        ) from None
    try:
        value = json.loads(response["SecretString"])
        credentials = Credentials(username=str(value["username"]), password=str(value["password"]))
    except (KeyError, TypeError, ValueError):
        raise CredentialsError(
            f"database secret {secret_id!r} ({stage}) is not JSON with 'username' and 'password'"
        ) from None
    logger.info("read database credentials from %s (%s)", secret_id, stage)
    return credentials
