"""Fixtures for deploy tests: real boto3 clients on the local AWS API, and a CLI runner."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from deploy import artifact, cli

FIXTURES = Path(__file__).parent / "fixtures"
REGION = "us-east-1"
_names = itertools.count(1)


@dataclass
class Result:
    code: int
    out: str
    err: str = ""


@pytest.fixture
def clients(aws_server) -> cli.Clients:
    """The clients the CLI would make, on the local AWS API."""
    return cli.Clients.from_session(boto3.Session(region_name=REGION))


@pytest.fixture
def name(request) -> str:
    """A stack and bucket name unique in this session (the local API is shared)."""
    return f"t{next(_names)}-{request.node.name[5:25].replace('_', '-').strip('-')}".lower()


@pytest.fixture
def bucket(clients, name) -> str:
    clients.s3.create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def artifact_zip(tmp_path_factory) -> Path:
    """The tiny project's app artifact, built once."""
    path = tmp_path_factory.mktemp("artifact") / "tinyapp.zip"
    path.write_bytes(artifact.build(FIXTURES / "tinyapp").data)
    return path


@pytest.fixture
def templates(tmp_path) -> Path:
    """A writable copy of the fixture templates."""
    return Path(shutil.copytree(FIXTURES / "stack", tmp_path / "templates"))


@pytest.fixture
def run(capsys, clients) -> Callable[..., Result]:
    """Run ``python -m deploy`` in-process with the given clients; no waiting between polls."""

    def run(*argv: str, with_clients: cli.Clients | None = None, **kwargs) -> Result:
        capsys.readouterr()
        code = cli.main(
            [*argv, "--poll-interval", "0"],
            clients=with_clients or clients,
            sleep=lambda seconds: None,
            **kwargs,
        )
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def up(run, bucket, name, templates, artifact_zip) -> Callable[..., Result]:
    """``up`` of the fixture stack with this test's bucket and stack name."""

    def up(*extra: str, template_dir: Path | None = None, **kwargs) -> Result:
        """``--no-yes`` in ``extra`` leaves out the default ``--yes``."""
        yes = [] if "--no-yes" in extra else ["--yes"]
        extra = tuple(arg for arg in extra if arg != "--no-yes")
        return run(
            "up",
            "--stack-name",
            name,
            "--bucket",
            bucket,
            "--templates",
            str(template_dir or templates),
            "--artifact",
            str(artifact_zip),
            "--skip-checks",
            *yes,
            *extra,
            **kwargs,
        )

    return up


def count_puts(s3) -> list[str]:
    """Keys of every PutObject the client sends from now on."""
    keys: list[str] = []
    s3.meta.events.register(
        "provide-client-params.s3.PutObject", lambda params, **_: keys.append(params["Key"])
    )
    return keys
