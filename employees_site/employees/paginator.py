"""A paginator that does not COUNT(*) a million rows on every admin changelist page.

Where the count is InnoDB's estimate, it is shown as one ("about 9,900") and no page number is
derived from it: a page is whatever rows its offset finds, and there is a next page exactly when
one more row exists. Paging therefore reaches every row, whether the estimate is low or high.
"""

from __future__ import annotations

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import connections
from django.utils.functional import cached_property

# Below this many rows counting exactly is cheap, and the estimate of a fresh table is poor.
EXACT_BELOW = 1000


class EstimatedCountPaginator(Paginator):
    """On MySQL, an unfiltered list takes InnoDB's row estimate instead of COUNT(*).

    The estimate comes from EXPLAIN, which reads the table's live statistics; MySQL 8 and Aurora 3
    cache information_schema.TABLES for a day by default, so TABLE_ROWS can be far behind. It is
    within a few percent, which is all a summary needs; it never decides where the list ends.
    Filtered lists and other databases count exactly.
    """

    estimated = False  # True once count() took the estimate

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        query = getattr(queryset, "query", None)
        if query is not None and not query.where and queryset.db:
            connection = connections[queryset.db]
            if connection.vendor == "mysql":
                table = connection.ops.quote_name(queryset.model._meta.db_table)
                estimate = estimated_rows(connection, f"SELECT * FROM {table}")  # noqa: S608
                if estimate is not None and estimate >= EXACT_BELOW:
                    self.estimated = True
                    return estimate
        return super().count

    @property
    def approximate_count(self) -> int:
        return approximate(self.count)

    def page(self, number) -> Page:
        if not (self.count and self.estimated):
            return super().page(number)
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger("That page number is not an integer") from None
        if number < 1:
            raise EmptyPage("That page number is less than 1")
        bottom = (number - 1) * self.per_page
        # One row more than a page says whether a next page exists.
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows and number > 1:
            raise EmptyPage("That page contains no results")
        page = OpenEndedPage(rows[: self.per_page], number, self, len(rows) > self.per_page)
        self.last_page_seen = page
        return page

    def get_elided_page_range(self, number=1, *, on_each_side=3, on_ends=2):
        if not self.estimated:
            yield from super().get_elided_page_range(
                number, on_each_side=on_each_side, on_ends=on_ends
            )
            return
        # The first pages, then the pages around this one, up to the next page if there is one:
        # never a "last" page, which only the estimate could name.
        number = int(number)
        seen = getattr(self, "last_page_seen", None)
        last = (
            number + 1 if seen is not None and seen.number == number and seen.has_next() else number
        )
        start = max(1, number - on_each_side)
        if start > on_ends + 1:
            yield from range(1, on_ends + 1)
            yield self.ELLIPSIS
        else:
            start = 1
        yield from range(start, last + 1)


class OpenEndedPage(Page):
    """A page of a list whose length is only estimated: it knows whether a next page exists."""

    def __init__(self, object_list, number, paginator, more: bool):
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more

    def end_index(self) -> int:
        return self.start_index() + len(self.object_list) - 1


def approximate(count: int) -> int:
    """``count`` rounded to two significant digits (9,897 -> 9,900), for "about …"."""
    digits = len(str(count))
    return round(count, 2 - digits) if digits > 2 else count


def estimated_rows(connection, sql: str, params=()) -> int | None:
    """The planner's estimate of the rows ``sql`` reads (MySQL's EXPLAIN; its largest "rows",
    the driving range or scan), without running it."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        columns = [column[0].lower() for column in cursor.description]
        rows = cursor.fetchall()
    if not rows or "rows" not in columns:
        return None
    found = [int(row[columns.index("rows")]) for row in rows if row[columns.index("rows")]]
    return max(found) if found else None
