"""The operators' admin, built for a million rows."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import router
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.timezone import make_aware

from .models import Department, Employee
from .paginator import EstimatedCountPaginator

AGE_BANDS = ((16, 24), (25, 34), (35, 44), (45, 54), (55, 64), (65, 100))


class AgeBandFilter(admin.SimpleListFilter):
    title = "age band"
    parameter_name = "age_band"

    def lookups(self, request, model_admin):
        return [(f"{low}-{high}", f"{low}-{high}") for low, high in AGE_BANDS]

    def queryset(self, request, queryset):
        value = self.value()
        bands = {f"{low}-{high}": (low, high) for low, high in AGE_BANDS}
        if value in bands:
            return queryset.filter(age__range=bands[value])
        return queryset  # an unknown band filters nothing rather than failing


class _Echo:
    """A file-like object whose write() hands the line back, for streaming csv rows."""

    def write(self, value: str) -> str:
        return value


EXPORT_FIELDS = ("id", "name", "age", "joined_at")
EXPORT_BATCH = 2000
# A cell starting with one of these is a formula to spreadsheet applications (OWASP, "CSV
# Injection"): such text cells get a leading apostrophe, which makes them plain text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> object:
    """One exported value: dates as ISO 8601, text that a spreadsheet would run as a formula
    neutralised; numbers as they are."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@admin.action(description="Export selected employees as CSV")
def export_csv(modeladmin, request, queryset):
    writer = csv.writer(_Echo())
    # Chosen now, inside the request, so an operator who just wrote exports from the writer; the
    # rows are read later, while the response streams.
    rows_from = queryset.using(router.db_for_read(Employee)).order_by("id")

    def rows():
        yield writer.writerow(EXPORT_FIELDS)
        # Keyset batches: mysqlclient buffers a whole result set client-side, so one query over
        # a million rows would hold them all in the worker's memory.
        last = 0
        while batch := list(
            rows_from.filter(id__gt=last).values_list(*EXPORT_FIELDS)[:EXPORT_BATCH]
        ):
            for row in batch:
                yield writer.writerow([csv_cell(value) for value in row])
            last = batch[-1][0]

    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    return StreamingHttpResponse(
        rows(),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="employees-{stamp}.csv"'},
    )


class EmployeeChangeList(ChangeList):
    """Django's changelist, with the date hierarchy's bounds computed without overflowing.

    Django ends a drilled-down year, month or day with datetime arithmetic, which overflows at the
    calendar's end (?joined_at__year=9999 asks for year 10000) and fails with a 500. Here the
    last period is open-ended instead, and a date that does not exist is a bad lookup, shown as
    Django shows every other one (the list again, with ?e=1).
    """

    def get_filters(self, request):
        field = self.date_hierarchy
        keys = [f"{field}__{part}" for part in ("year", "month", "day")]
        drilled = [self.filter_params.get(key, [None])[-1] for key in keys]
        if not field or drilled[0] is None:
            return super().get_filters(request)
        start, end = _period(*drilled)
        kept = self.filter_params
        # Django's own hierarchy branch is skipped by hiding its parameters for this one call.
        self.filter_params = {name: value for name, value in kept.items() if name not in keys}
        try:
            specs, has_filters, lookups, duplicates, active = super().get_filters(request)
        finally:
            self.filter_params = kept
        lookups[f"{field}__gte"] = [start]
        if end is not None:
            lookups[f"{field}__lt"] = [end]
        return specs, has_filters, lookups, duplicates, active


def _period(year: str, month: str | None, day: str | None) -> tuple[datetime, datetime | None]:
    """The start and end (None: the calendar's end) of a drilled-down year, month or day."""
    parts = (year, month or "1", day or "1")
    try:
        if not all(part.isascii() and part.isdigit() and len(part) <= 4 for part in parts):
            raise ValueError(f"{parts} is not a year, month and day")
        start = datetime(*(int(part) for part in parts))
    except ValueError as error:
        raise IncorrectLookupParameters(error) from error
    try:
        if day:
            end = start + timedelta(days=1)
        elif month:
            end = (start + timedelta(days=32)).replace(day=1)
        else:
            end = start.replace(year=start.year + 1)
    except (OverflowError, ValueError):
        end = None
    if settings.USE_TZ:
        return make_aware(start), end and make_aware(end)
    return start, end


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("name", "id")
    search_fields = ("^name",)
    ordering = ("name",)


@admin.register(Employee)
class EmployeeAdmin(admin.ModelAdmin):
    list_display = ("name", "department", "email", "age", "joined_at", "id")
    list_filter = ("department", AgeBandFilter, "joined_at")
    list_select_related = ("department",)
    # "^name" is a LIKE 'prefix%' on the (name, id) index, not a '%term%' table scan. (The
    # public list searches any word; here operators page a search with OFFSET, which the words
    # table's own order would not serve.)
    search_fields = ("^name",)
    search_help_text = "Names starting with…"
    ordering = ("name", "id")
    date_hierarchy = "joined_at"
    readonly_fields = ("created_at", "updated_at")
    fields = ("name", "department", "email", "age", "joined_at", "created_at", "updated_at")
    actions = (export_csv,)
    list_per_page = 50
    # No COUNT(*) over the whole table on every changelist page.
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def get_changelist(self, request, **kwargs):
        return EmployeeChangeList

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        cl = (getattr(response, "context_data", None) or {}).get("cl")
        if cl is not None and getattr(cl.paginator, "estimated", False):
            # "Select all 9897" would present InnoDB's estimate as an exact number.
            count = cl.paginator.approximate_count
            response.context_data["selection_note_all"] = f"All (about {count:,}) selected"
        return response

    def get_changeform_initial_data(self, request):
        """Initial values from the add URL (?name=…&joined_at=2024-01-31), each parsed as its
        field would; one that does not parse is dropped rather than handed to a widget."""
        initial = {}
        for name, value in super().get_changeform_initial_data(request).items():
            try:
                initial[name] = self.model._meta.get_field(name).to_python(value)
            except (FieldDoesNotExist, ValidationError):
                continue
        return initial

    def get_search_results(self, request, queryset, search_term):
        # One prefix for the whole term: Django would split "Ada Lovelace" into two words that
        # must each start the name, which finds nobody.
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(name__istartswith=term), False
