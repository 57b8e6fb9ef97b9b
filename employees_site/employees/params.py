"""Query parameters of the list and the API, parsed strictly: a bad value names itself."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import QueryDict

from .models import NAME_MAX_LENGTH

MAX_ID = 2**63 - 1  # BigAutoField
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class BadParameter(ValueError):
    def __init__(self, parameter: str, message: str):
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


@dataclass(frozen=True)
class ListParams:
    after: int | None
    limit: int
    q: str


def _integer(query: QueryDict, name: str, low: int, high: int) -> int | None:
    raw = query.get(name)
    if raw is None:
        return None
    # isdigit() accepts other scripts' digits and int() would parse them: ASCII digits only, and
    # no more of them than the bound has (int() refuses strings of thousands of digits).
    if (
        not (raw.isascii() and raw.isdigit())
        or len(raw) > len(str(high))
        or not low <= int(raw) <= high
    ):
        raise BadParameter(name, f"must be an integer from {low} to {high}, got {raw[:40]!r}")
    return int(raw)


def parse_list_params(query: QueryDict, *, strict: bool) -> ListParams:
    """The list's parameters; ``strict`` (the API) also refuses names it does not know, while a
    page (``strict=False``) ignores them, so shared links with tracking parameters still work."""
    unknown = sorted(set(query) - {"after", "limit", "q"})
    if strict and "" in unknown:
        raise BadParameter("", "has no name (the query has '=value'); use after, limit, q")
    if strict and unknown:
        raise BadParameter(unknown[0], "is not a parameter of this list (use after, limit, q)")
    for name in ("after", "limit", "q"):
        if len(query.getlist(name)) > 1:
            raise BadParameter(name, "is given more than once")
    after = _integer(query, "after", 1, MAX_ID)
    limit = _integer(query, "limit", 1, MAX_LIMIT)
    q = query.get("q", "").strip()
    if len(q) > NAME_MAX_LENGTH:
        raise BadParameter("q", f"must be at most {NAME_MAX_LENGTH} characters")
    if any(ord(char) < 32 for char in q):
        raise BadParameter("q", "must not contain control characters")
    return ListParams(after=after, limit=DEFAULT_LIMIT if limit is None else limit, q=q)
