"""Bulk-load generated employees: deterministic for a seed, fast enough for a million rows."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, transaction

from ...models import MAX_AGE, MIN_AGE, Employee

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
EPOCH = datetime(2015, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 10 * 365 * 24 * 3600


def generate(count: int, seed: int):
    """``count`` unsaved employees; the same seed always gives the same employees."""
    rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
    for _ in range(count):
        yield Employee(
            name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            age=rng.randint(MIN_AGE, min(67, MAX_AGE)),
            joined_at=EPOCH + timedelta(seconds=rng.randrange(SPAN_SECONDS)),
        )


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
        employees = generate(count, seed)
        done = 0
        while done < count:
            batch = [next(employees) for _ in range(min(batch_size, count - done))]
            with transaction.atomic(using=database):
                Employee.objects.using(database).bulk_create(batch)
            done += len(batch)
            progress.update(done)
        progress.finish()
        elapsed = time.monotonic() - started
        rate = done / elapsed if elapsed else 0
        self.stdout.write(f"Seeded {done} employees in {elapsed:.1f}s ({rate:,.0f} rows/s).")


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
