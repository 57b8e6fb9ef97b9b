"""The site's own URLs reversed once per process (and script prefix), for the pages' links.

Every page's layout links the list, the API schema and the admin, and the list links itself up
to four times: Django's ``{% url %}`` resolved each of them on every render, an eighth of the
list page's time. Templates use ``{% site_url 'name' %}`` (templatetags/site_urls.py) instead.
Meant for a few fixed URLs: the cache keeps 64.
"""

from __future__ import annotations

from functools import lru_cache

from django.urls import get_script_prefix, reverse


def url(name: str, *args: int | str) -> str:
    """``reverse(name, args=args)``, from this process's memory after the first time."""
    return _reverse(name, args, get_script_prefix())


@lru_cache(maxsize=64)
def _reverse(name: str, args: tuple, prefix: str) -> str:
    return reverse(name, args=args)  # reverse() prepends the current script prefix: the key's
