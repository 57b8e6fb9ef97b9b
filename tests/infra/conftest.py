"""Compiled templates as plain dicts: what the tests read, built once per session."""

from __future__ import annotations

import pytest

from infra import root


@pytest.fixture(scope="session")
def templates() -> dict[str, dict]:
    """Every template of the default build, by stack name, as the dict CloudFormation reads."""
    return {name: t.to_dict() for name, t in root.build_all(root.RootParams()).items()}


@pytest.fixture(scope="session")
def network(templates: dict[str, dict]) -> dict:
    """The network stack's template."""
    return templates["network"]


@pytest.fixture(scope="session")
def security(templates: dict[str, dict]) -> dict:
    """The security stack's template."""
    return templates["security"]


@pytest.fixture(scope="session")
def database(templates: dict[str, dict]) -> dict:
    """The database stack's template."""
    return templates["database"]


@pytest.fixture(scope="session")
def root_template(templates: dict[str, dict]) -> dict:
    """The root stack's template."""
    return templates["root"]


@pytest.fixture(scope="session")
def edge(templates: dict[str, dict]) -> dict:
    """The edge stack's template."""
    return templates["edge"]


@pytest.fixture(scope="session")
def app(templates: dict[str, dict]) -> dict:
    """The app stack's template."""
    return templates["app"]


@pytest.fixture(scope="session")
def monitoring(templates: dict[str, dict]) -> dict:
    """The monitoring stack's template."""
    return templates["monitoring"]
