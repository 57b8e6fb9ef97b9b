"""pytest plugin (loaded with ``-p`` from setup.cfg) that wires the test services in.

It is imported before pytest-django reads the settings, so the environment it sets here is the
one the settings module sees. The services themselves start lazily, on the first test that asks
for them, and stop at the end of the session.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import boto3
import pytest

from . import aws, mariadb

# Tests never reach a real AWS account: fixed dummy credentials and a loopback endpoint.
_MOTO = aws.MotoServer()
os.environ.update(aws.ENVIRONMENT)
os.environ["AWS_ENDPOINT_URL"] = _MOTO.endpoint_url
# TMP


@pytest.fixture(scope="session")
def aws_server() -> Iterator[aws.MotoServer]:
    """The local AWS API (moto server over HTTP) that AWS_ENDPOINT_URL points at."""
    yield _MOTO.start()
    _MOTO.stop()


@pytest.fixture(scope="session")
def mariadb_pair() -> Iterator[mariadb.MariaDBPair]:
    """The MariaDB primary (writer) and GTID replica (reader) on 127.0.0.1:13306/13307."""
    pair = mariadb.MariaDBPair().start()
    yield pair
    pair.close()


@pytest.fixture
def secretsmanager(aws_server: aws.MotoServer):
    """A boto3 Secrets Manager client on the local AWS API."""
    return boto3.client("secretsmanager")


def put_json_secret(client, name: str, value: dict) -> str:
    """Create or update a JSON secret; return its ARN."""
    try:
        return client.create_secret(Name=name, SecretString=json.dumps(value))["ARN"]
    except client.exceptions.ResourceExistsException:
        return client.put_secret_value(SecretId=name, SecretString=json.dumps(value))["ARN"]
