"""Create the demo superuser for `make run`, only when no superuser exists yet."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create superuser 'admin' when there is none (password from DJANGO_SUPERUSER_PASSWORD)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        users = get_user_model().objects
        if users.filter(is_superuser=True).exists():
            self.stdout.write("A superuser exists already; none created.")
            return
        # Generated when not given, and then shown once: it is stored only as a hash.
        given = settings.DEMO_SUPERUSER_PASSWORD
        password = given or secrets.token_urlsafe(12)
        users.create_superuser(username=username, email="", password=password)
        if given:
            self.stdout.write(f"Created superuser {username!r} (password from the environment).")
        else:
            self.stdout.write(f"Created superuser {username!r} with password: {password}")
            self.stdout.write("It is shown only this once; change it in the admin.")
