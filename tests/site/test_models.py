"""The Employee model: real types, per-field validation, indexes for the list's order."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from employees_site.employees.models import Employee

pytestmark = pytest.mark.django_db


def employee_create(**fields) -> Employee:
    """Validate in full, then save: what the admin's form does on the way in."""
    employee = Employee(**fields)
    employee.full_clean()
    employee.save()
    return employee


def test_create_validates_and_saves():
    """A valid employee is stored, with a join time defaulting to now."""
    employee = employee_create(name="Ada Lovelace", age=36)
    stored = Employee.objects.get(pk=employee.pk)
    assert (stored.name, stored.age) == ("Ada Lovelace", 36)
    assert stored.joined_at is not None and stored.created_at is not None


@pytest.mark.parametrize(
    ("name", "age", "field"),
    [
        ("", 30, "name"),
        ("x" * 101, 30, "name"),
        ("Too Young", 15, "age"),
        ("Too Old", 101, "age"),
    ],
)
def test_invalid_fields_are_named_and_nothing_is_saved(name, age, field):
    """A bad name or age fails validation naming that field, and no row is written."""
    with pytest.raises(ValidationError) as excinfo:
        employee_create(name=name, age=age)
    assert set(excinfo.value.message_dict) == {field}
    assert not Employee.objects.exists()


def test_ids_are_64_bit():
    """The key holds ids far beyond the blog's 255-row TINYINT."""
    big = 2**62
    Employee.objects.create(id=big, name="Big Id", age=30)
    assert Employee.objects.get(pk=big).name == "Big Id"


def test_list_order_and_prefix_search_are_served_by_an_index():
    """An index on (name, id) exists, matching the list's ordering."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Employee._meta.db_table)
    index_columns = [c["columns"] for c in constraints.values() if c["index"]]
    assert ["name", "id"] in index_columns
    assert ["joined_at"] in index_columns
    assert Employee._meta.ordering == ["name", "id"]


def test_joined_at_round_trips_with_time_zone():
    """Join times are stored and read back as aware UTC datetimes."""
    when = datetime(2020, 2, 29, 12, 30, tzinfo=UTC)
    employee = employee_create(name="Leap Day", age=40, joined_at=when)
    assert Employee.objects.get(pk=employee.pk).joined_at == when
    assert Employee.objects.filter(joined_at__year=2020, joined_at__month=2).count() == 1
