"""Query parameters of the list and the API, parsed strictly: a bad value names itself."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import QueryDict

from .cursors import BadCursor, Cursor
from .models import MAX_ID, NAME_MAX_LENGTH

__all__ = ["MAX_ID", "BadParameter", "ListParams", "parse_list_params"]

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
NAMES = ("cursor", "after", "limit", "q", "department")


class BadParameter(ValueError):
    def __init__(self, parameter: str, message: str):
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


@dataclass(frozen=True)
class ListParams:
    cursor: Cursor | None
    after: int | None  # deprecated: the id-only cursor of the API's first clients
    limit: int
    q: str
    department: int | None

    def query(self, cursor: Cursor | None = None) -> str:
        """The query string of this list at ``cursor`` (None: the first page), keeping q,
        department and a limit that is not the default."""
        query: dict = {}
        if cursor is not None:
            query["cursor"] = cursor.encode()
        if self.q:
            query["q"] = self.q
        if self.department is not None:
            query["department"] = self.department
        if self.limit != DEFAULT_LIMIT:
            query["limit"] = self.limit
        return "?" + urlencode(query) if query else ""

    def here(self) -> str:
        """The query string of the page these parameters open (the detail page's way back)."""
        if self.after is not None:
            query = self.query()
            return query + ("&" if query else "?") + f"after={self.after}"
        return self.query(self.cursor)


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
    unknown = sorted(set(query) - set(NAMES))
    known = ", ".join(NAMES)
    if strict and "" in unknown:
        raise BadParameter("", f"has no name (the query has '=value'); use {known}")
    if strict and unknown:
        raise BadParameter(unknown[0], f"is not a parameter of this list (use {known})")
    for name in NAMES:
        if len(query.getlist(name)) > 1:
            raise BadParameter(name, "is given more than once")
    after = _integer(query, "after", 1, MAX_ID)
    limit = _integer(query, "limit", 1, MAX_LIMIT)
    # The search form's "All departments" sends department= (empty): no filter.
    department = _integer(query, "department", 1, MAX_ID) if query.get("department") else None
    cursor = None
    if "cursor" in query:
        if after is not None:
            raise BadParameter("after", "cannot be given with cursor (use cursor alone)")
        try:
            cursor = Cursor.decode(query["cursor"])
        except BadCursor as error:
            raise BadParameter(
                "cursor", f"{error}; start again from the first page (without cursor)"
            ) from None
    q = query.get("q", "").strip()
    if len(q) > NAME_MAX_LENGTH:
        raise BadParameter("q", f"must be at most {NAME_MAX_LENGTH} characters")
    if any(ord(char) < 32 for char in q):
        raise BadParameter("q", "must not contain control characters")
    return ListParams(
        cursor=cursor,
        after=after,
        limit=DEFAULT_LIMIT if limit is None else limit,
        q=q,
        department=department,
    )
