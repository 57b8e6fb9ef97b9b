"""make run's server: Django's runserver (static files included) with a short banner that ends
with where the site, the API and the admin are, and how to log in."""

from __future__ import annotations

from django.contrib.staticfiles.management.commands.runserver import Command as RunserverCommand


class Command(RunserverCommand):
    help = "runserver with a banner naming the site, the API, the admin and how to log in."

    def on_bind(self, server_port):
        base = f"{self.protocol}://{self.addr}:{server_port}"
        self.stdout.write(
            "\n".join(
                (
                    f"Serving {base}/ (development server; Ctrl-C stops it)",
                    f"  API:   {base}/api/employees/ (OpenAPI 3 description: {base}/api/schema/)",
                    f"  Admin: {base}/admin/ as user 'admin', with the password shown when it was"
                    " created (the first make run) or DJANGO_SUPERUSER_PASSWORD",
                    "  Forgot it? Set a new one: .venv/bin/python manage.py changepassword admin",
                )
            )
        )
