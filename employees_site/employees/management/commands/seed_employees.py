"""Bulk-load generated employees: deterministic for a seed, fast enough for a million rows."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Max

from ...models import MAX_AGE, MIN_AGE, Department, Employee, index_words

FIRST_NAMES = (
    "Ada Alan Alice Amara Ana Arjun Ben Bea Carlos Chen Chloe Dana David Diego Elena Emeka Eva "
    "Farah Felix Grace Hana Hugo Ines Ivan Jana Jon Kai Kenji Lara Leo Lina Luca Maya Mei Nadia "
    "Noah Olga Omar Priya Quinn Rosa Sam Sara Tariq Theo Uma Vera Wei Yara Zoe"
).split()
LAST_NAMES = (
    "Abebe Andersen Bauer Boateng Costa Dubois Eriksen Fischer Garcia Haddad Ito Jansen Kim "
    "Kowalski Larsen Lopez Martin Moreau Nakamura Novak Okafor Olsen Park Perez Quist Rossi Sato "
    "Schmidt Silva Singh Smith Tanaka Torres Ueda Varga Wagner Walker Weber Xu Yilmaz Zhang"
).split()
# (name, weight): a company's usual shape, most people in engineering, sales and support.
DEPARTMENTS = (
    ("Engineering", 30),
    ("Sales", 15),
    ("Customer Support", 12),
    ("Operations", 10),
    ("Marketing", 8),
    ("Product", 7),
    ("Finance", 6),
    ("Human Resources", 5),
    ("Legal", 3),
    ("Research", 4),
)
EMAIL_SHARE = 0.9  # the rest (contractors, new starters) have no work email yet
EMAIL_DOMAIN = "example.com"
EPOCH = datetime(2015, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 10 * 365 * 24 * 3600


def generate(count: int, seed: int, *, departments: list[int] | None = None, first_number: int = 1):
    """``count`` unsaved employees; the same seed always gives the same employees.

    ``departments`` (ids, in DEPARTMENTS' order) are assigned by weight; work emails are
    numbered from ``first_number`` so they stay unique across runs.
    """
    rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
    # Its own generator, so names, ages and dates are those of earlier releases for a seed.
    extra = random.Random(f"departments-{seed}")  # noqa: S311
    weights = [weight for _, weight in DEPARTMENTS]
    for number in range(first_number, first_number + count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        employee = Employee(
            name=f"{first} {last}",
            age=rng.randint(MIN_AGE, min(67, MAX_AGE)),
            joined_at=EPOCH + timedelta(seconds=rng.randrange(SPAN_SECONDS)),
        )
        if departments:
            employee.department_id = extra.choices(departments, weights)[0]
        if extra.random() < EMAIL_SHARE:
            employee.email = f"{first}.{last}.{number}@{EMAIL_DOMAIN}".lower()
        yield employee


class Command(BaseCommand):
    help = "Insert N generated employees in batches (deterministic for a given --seed)."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, required=True, help="how many employees")
        parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when employees already exist"
        )

    def handle(self, *args, count, seed, batch_size, if_empty, **options):
        database = DEFAULT_DB_ALIAS  # rows are written to the writer, and checked there
        if count < 0:
            raise CommandError(f"--count must be 0 or more, got {count}")
        if not 1 <= batch_size <= 50000:
            raise CommandError(f"--batch-size must be from 1 to 50000, got {batch_size}")
        if if_empty and Employee.objects.using(database).exists():
            self.stdout.write("Employees already exist; nothing seeded.")
            return
        progress = _Progress(count, self.stderr)
        started = time.monotonic()
        department_ids = _departments(database)
        last = Employee.objects.using(database).aggregate(last=Max("id"))["last"] or 0
        employees = generate(count, seed, departments=department_ids, first_number=last + 1)
        done = 0
        while done < count:
            batch = [next(employees) for _ in range(min(batch_size, count - done))]
            with transaction.atomic(using=database):
                Employee.objects.using(database).bulk_create(batch)
                # bulk_create skips save(): the new rows' words, read back by their ids (MySQL
                # does not return the ids of a bulk insert).
                added = Employee.objects.using(database).filter(id__gt=last).order_by("id")
                added = list(added.values_list("id", "name"))
                index_words(added, using=database, new=True)
            last = added[-1][0] if added else last
            done += len(batch)
            progress.update(done)
        progress.finish()
        elapsed = time.monotonic() - started
        rate = done / elapsed if elapsed else 0
        self.stdout.write(f"Seeded {done} employees in {elapsed:.1f}s ({rate:,.0f} rows/s).")


def _departments(database: str) -> list[int]:
    """The ids of DEPARTMENTS, in their order, created where missing."""
    ids = []
    for name, _ in DEPARTMENTS:
        department, _ = Department.objects.using(database).get_or_create(name=name)
        ids.append(department.id)
    return ids


class _Progress:
    """A one-line progress bar on a terminal; a line per tenth elsewhere (logs, CI)."""

    WIDTH = 30

    def __init__(self, total: int, stream):
        self.total, self.stream = total, stream
        self.tty = stream.isatty()  # Django's OutputWrapper passes this to its stream
        self.shown_tenth = 0

    def update(self, done: int) -> None:
        if not self.total:
            return
        fraction = done / self.total
        if self.tty:
            filled = int(self.WIDTH * fraction)
            bar = "#" * filled + "." * (self.WIDTH - filled)
            self.stream.write(f"\r[{bar}] {fraction:4.0%} {done}/{self.total}", ending="")
            self.stream.flush()
        elif int(fraction * 10) > self.shown_tenth:
            self.shown_tenth = int(fraction * 10)
            self.stream.write(f"seeded {done}/{self.total} ({fraction:.0%})")

    def finish(self) -> None:
        if self.tty and self.total:
            self.stream.write("")
