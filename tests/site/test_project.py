"""Project-level guards: system checks pass and every model change has its migration."""

import io

import pytest
from django.core.management import call_command


def test_system_checks_pass():
    """manage.py check reports no issue."""
    out = io.StringIO()
    call_command("check", stdout=out)
    assert "no issues" in out.getvalue()


@pytest.mark.django_db
def test_migrations_are_committed():
    """makemigrations --check finds nothing to write."""
    call_command("makemigrations", check=True, dry_run=True, stdout=io.StringIO())
