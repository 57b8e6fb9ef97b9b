#!/usr/bin/env python
"""Django's command-line utility for the employees site."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "employees_site.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line
    from django.db import DatabaseError

    try:
        execute_from_command_line(sys.argv)
    except (ImproperlyConfigured, DatabaseError) as error:
        # Configuration and connection problems are the operator's to fix: say what is wrong
        # in one line instead of a driver traceback (--traceback still shows it).
        if "--traceback" in sys.argv:
            raise
        sys.stderr.write(f"error: {error}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
