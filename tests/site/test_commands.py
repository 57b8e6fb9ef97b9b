"""Management commands: seed_employees and the demo superuser of `make run`."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from employees_site.employees.models import Employee

pytestmark = pytest.mark.django_db


def _seed(**options):
    out = io.StringIO()
    call_command("seed_employees", stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def _rows():
    return list(Employee.objects.order_by("id").values_list("name", "age", "joined_at"))


def test_seed_inserts_count_rows_in_batches():
    """--count rows arrive, in batches smaller than the count, all valid."""
    out = _seed(count=1234, seed=1, batch_size=500)
    assert Employee.objects.count() == 1234
    assert "Seeded 1234 employees" in out
    for employee in Employee.objects.all()[:50]:
        employee.full_clean()


def test_seed_is_deterministic_for_a_seed():
    """The same seed gives the same employees; another seed gives others."""
    _seed(count=200, seed=7)
    first = _rows()
    Employee.objects.all().delete()
    _seed(count=200, seed=7)
    assert _rows() == first
    Employee.objects.all().delete()
    _seed(count=200, seed=8)
    assert _rows() != first


def test_seed_if_empty_does_nothing_when_rows_exist():
    """--if-empty seeds an empty table and leaves a filled one alone."""
    _seed(count=10, if_empty=True)
    assert "Employees already exist" in _seed(count=10, if_empty=True)
    assert Employee.objects.count() == 10


@pytest.mark.parametrize(
    ("options", "message"),
    [({"count": -1}, "--count"), ({"count": 5, "batch_size": 0}, "--batch-size")],
)
def test_seed_rejects_bad_options(options, message):
    """Bad options fail with a message naming the option, and nothing is written."""
    with pytest.raises(CommandError, match=message):
        _seed(**options)
    assert not Employee.objects.exists()


def test_demo_superuser_is_created_once_with_a_generated_password():
    """Without a password in the environment one is generated, shown once, and works."""
    out = io.StringIO()
    call_command("ensure_superuser", stdout=out)
    password = out.getvalue().split("password: ")[1].split()[0]
    assert get_user_model().objects.get(username="admin").check_password(password)
    again = io.StringIO()
    call_command("ensure_superuser", stdout=again)
    assert "exists already" in again.getvalue()
    assert get_user_model().objects.filter(is_superuser=True).count() == 1


def test_demo_superuser_takes_the_password_from_settings(settings):
    """DJANGO_SUPERUSER_PASSWORD (read by settings) becomes the password, never printed."""
    settings.DEMO_SUPERUSER_PASSWORD = "from-the-environment-123"
    out = io.StringIO()
    call_command("ensure_superuser", stdout=out)
    assert "from-the-environment-123" not in out.getvalue()
    assert get_user_model().objects.get(username="admin").check_password("from-the-environment-123")
