"""Writes to employees. Each validates in full before touching the database."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from .models import Employee


def employee_create(*, name: str, age: int, joined_at: datetime | None = None) -> Employee:
    employee = Employee(name=name, age=age, joined_at=joined_at or timezone.now())
    employee.full_clean()
    employee.save()
    return employee
