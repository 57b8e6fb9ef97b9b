"""Rebuild the words table that ``q`` searches: after a rolling update from a release without
it (rows the old instances wrote meanwhile have no words), or whenever a search misses a name."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from ...models import reindex_words


class Command(BaseCommand):
    help = "Rebuild every employee's name words (idempotent; batches of --batch-size ids)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args, batch_size, **options):
        if not 1 <= batch_size <= 50000:
            raise CommandError(f"--batch-size must be from 1 to 50000, got {batch_size}")
        started = time.monotonic()
        employees, words = reindex_words(using=DEFAULT_DB_ALIAS, batch=batch_size)
        self.stdout.write(
            f"Indexed {words} words of {employees} employees in {time.monotonic() - started:.1f}s."
        )
