"""The site's one Secrets Manager client per region, and plain-string secrets read through it."""

from __future__ import annotations

import os
import threading

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.core.exceptions import ImproperlyConfigured

# A call made inside a request must fail fast rather than hold a worker thread for minutes:
# short timeouts and a few standard retries instead of boto3's 60 s defaults.
_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})

_clients: dict[str | None, object] = {}
_lock = threading.Lock()
# A client (and its pooled TLS connections) made before a fork -- gunicorn's preload reads the
# Django secret key in the master -- must not be shared by the workers: each makes its own.
os.register_at_fork(after_in_child=_clients.clear)


class SecretError(ImproperlyConfigured):
    """A secret could not be read, or does not hold what it should."""


def secrets_client(region: str | None = None):
    """The Secrets Manager client this process uses for ``region``.

    Endpoint and credentials come from boto3's own chain (AWS_ENDPOINT_URL in tests, the instance
    profile on EC2); the region is passed in from settings.
    """
    existing = _clients.get(region)
    if existing is not None:
        return existing
    with _lock:
        if region not in _clients:
            _clients[region] = boto3.client("secretsmanager", region_name=region, config=_CONFIG)
        return _clients[region]


def secret_string(secret_id: str, *, region: str | None, stage: str = "AWSCURRENT") -> str:
    """The SecretString of ``secret_id`` at ``stage``, or a SecretError saying what to check."""
    try:
        response = secrets_client(region).get_secret_value(SecretId=secret_id, VersionStage=stage)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "Unknown")
        raise SecretError(
            f"cannot read secret {secret_id!r} ({stage}): {code}. Check the secret id and that "
            f"this role may call secretsmanager:GetSecretValue on it."
        ) from None
    except BotoCoreError as error:
        raise SecretError(
            f"cannot reach Secrets Manager for {secret_id!r}: {error.__class__.__name__}. "
            f"Check AWS_REGION and the network path to the Secrets Manager endpoint."
        ) from None
    if "SecretString" not in response:
        raise SecretError(f"secret {secret_id!r} ({stage}) holds binary data, not a string")
    return response["SecretString"]
