"""The admin, through Django's test client: search, filters, CSV export, million-row settings."""

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from employees_site.employees.models import Employee

pytestmark = pytest.mark.django_db

URL = "/admin/employees/employee/"


@pytest.fixture
def people():
    return [
        Employee.objects.create(name="Ada Kim", age=20),
        Employee.objects.create(name="Ada Xu", age=30),
        Employee.objects.create(name="Bea Park", age=50),
    ]


def test_search_is_a_name_prefix_match(admin_client, people):
    """Searching 'Ada' finds names starting with it, with LIKE 'Ada%' (index), not '%Ada%'."""
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(URL, {"q": "Ada"})
    assert response.status_code == 200
    assert [e.name for e in response.context["cl"].result_list] == ["Ada Kim", "Ada Xu"]
    sql = " ".join(q["sql"] for q in captured.captured_queries if "employees_employee" in q["sql"])
    assert "'Ada%'" in sql and "'%Ada%'" not in sql


def test_age_band_filter(admin_client, people):
    """The age band filter keeps only employees in that band; an unknown band filters nothing."""
    response = admin_client.get(URL, {"age_band": "25-34"})
    assert [e.name for e in response.context["cl"].result_list] == ["Ada Xu"]
    response = admin_client.get(URL, {"age_band": "nonsense"})
    assert response.status_code == 200


def test_changelist_has_date_hierarchy_and_no_full_count(admin_client, people):
    """The changelist offers a date hierarchy and does not show a full result count."""
    response = admin_client.get(URL)
    cl = response.context["cl"]
    assert cl.date_hierarchy == "joined_at"
    assert cl.model_admin.show_full_result_count is False
    assert b'<nav class="toplinks">' in response.content


# transaction=True: ANALYZE TABLE commits implicitly on MySQL; the list reads the replica.
@pytest.mark.django_db(transaction=True, databases=["default", "reader"])
def test_unfiltered_changelist_avoids_count_on_mysql(admin_client, wait_for_replica):
    """On MySQL a big unfiltered changelist takes the table estimate, not COUNT(*)."""
    call_command("seed_employees", count=1500, seed=3, stdout=io.StringIO())
    if connection.vendor == "mysql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE TABLE employees_employee")
    wait_for_replica()
    reader = connections["reader"]
    with (
        CaptureQueriesContext(connection) as writer_queries,
        CaptureQueriesContext(reader) as reader_queries,
    ):
        response = admin_client.get(URL)
    assert response.status_code == 200
    captured = writer_queries.captured_queries + reader_queries.captured_queries
    counts = [q["sql"] for q in captured if "COUNT(" in q["sql"].upper()]
    if connection.vendor == "mysql":
        assert counts == []
        assert abs(response.context["cl"].result_count - 1500) < 300
    else:
        assert response.context["cl"].result_count == 1500


def test_change_form_shows_timestamps_read_only(admin_client, people):
    """created_at and updated_at are shown read-only on the change form."""
    response = admin_client.get(f"{URL}{people[0].pk}/change/")
    assert response.status_code == 200
    form_fields = response.context["adminform"].form.fields
    assert "created_at" not in form_fields and "updated_at" not in form_fields
    assert b"Created at" in response.content


def test_add_with_bad_age_shows_the_field_error_and_saves_nothing(admin_client):
    """An out-of-range age is reported on the age field; no employee is created."""
    response = admin_client.post(
        f"{URL}add/",
        {"name": "Kid", "age": "12", "joined_at_0": "2024-01-01", "joined_at_1": "10:00:00"},
    )
    assert response.status_code == 200
    assert "age" in response.context["adminform"].form.errors
    assert not Employee.objects.filter(name="Kid").exists()


def test_csv_export_streams_the_selected_rows(admin_client, people):
    """The export action streams a CSV of the selected employees with a header row."""
    response = admin_client.post(
        URL, {"action": "export_csv", "_selected_action": [people[0].pk, people[2].pk]}
    )
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["id", "name", "age", "joined_at"]
    assert [row[1] for row in rows[1:]] == ["Ada Kim", "Bea Park"]


def test_search_by_full_name_is_one_prefix(admin_client, people):
    """'Ada Kim' finds Ada Kim (Django would otherwise require each word to start the name)."""
    response = admin_client.get(URL, {"q": "Ada Kim"})
    assert [e.name for e in response.context["cl"].result_list] == ["Ada Kim"]


def test_csv_export_reads_in_keyset_batches(admin_client, people, monkeypatch):
    """A big export is read in id batches, every row once, in id order."""
    from employees_site.employees import admin as employee_admin

    monkeypatch.setattr(employee_admin, "EXPORT_BATCH", 2)
    extra = [Employee.objects.create(name=f"Extra {i}", age=40) for i in range(3)]
    selected = [e.pk for e in people + extra]
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.post(URL, {"action": "export_csv", "_selected_action": selected})
        body = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(body)))[1:]
    assert [int(row[0]) for row in rows] == sorted(selected)
    batches = [q for q in captured.captured_queries if q["sql"].endswith("LIMIT 2")]
    assert len(batches) == 4  # 2 + 2 + 2 rows, then an empty batch


def test_date_hierarchy_offers_years_without_a_distinct_scan(admin_client):
    """The top level lists the years that have employees (not the gap), with no DISTINCT."""
    for year in (2019, 2023):
        Employee.objects.create(
            name=f"Joined {year}", age=30, joined_at=datetime(year, 5, 1, tzinfo=UTC)
        )
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(URL)
    years = _hierarchy_years(response.content.decode())
    assert years == ["2019", "2023"]
    assert not any("DISTINCT" in q["sql"].upper() for q in captured.captured_queries)
    drilled = admin_client.get(URL, {"joined_at__year": "2019"})
    assert [e.name for e in drilled.context["cl"].result_list] == ["Joined 2019"]


def test_date_hierarchy_at_the_ends_of_the_calendar(admin_client):
    """Rows joined in 0001 and 9999 (legacy data) give two year links, and every drill works."""
    for year in (1, 9999):
        Employee.objects.create(
            name=f"Joined {year}", age=30, joined_at=datetime(year, 12, 31, 12, tzinfo=UTC)
        )
    response = admin_client.get(URL)
    assert _hierarchy_years(response.content.decode()) == ["1", "9999"]
    query = {}
    for part, value in (("year", "9999"), ("month", "12"), ("day", "31")):
        query[f"joined_at__{part}"] = value
        response = admin_client.get(URL, query)
        assert response.status_code == 200, query
        assert [e.name for e in response.context["cl"].result_list] == ["Joined 9999"]


@pytest.mark.parametrize(
    "query",
    [
        "joined_at__year=10000",
        "joined_at__year=abc",
        "joined_at__year=2024&joined_at__month=13",
        "joined_at__year=2024&joined_at__month=2&joined_at__day=30",
        "joined_at__gte=abc",
        "joined_at__lt=9999-99-99",
        "age__gt=abc",
        "id=abc",
        "p=abc",
        "p=999999",
        "o=abc",
        "o=99.-99",
        "q=" + "x" * 5000,
        "age_band=%00",
        "=x",
    ],
)
def test_bad_admin_filters_never_500(admin_client, people, query):
    """A bad filter, page or ordering value is a 400 or is dropped (Django's ?e=1), never a 500."""
    response = admin_client.get(f"{URL}?{query}", follow=True)
    assert response.status_code in (200, 400), (query, response.status_code)


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("joined_at=abc", None),
        ("joined_at=9999-12-31%2023:59:59.999999", "9999-12-31"),
        ("age=abc", None),
        ("name=Ada&unknown=1", None),
        ("joined_at=2024-02-03", "2024-02-03"),
    ],
)
def test_add_form_initial_values_never_500(admin_client, query, shown):
    """Initial values from the add URL prefill the form when valid and are dropped when not."""
    response = admin_client.get(f"{URL}add/?{query}")
    assert response.status_code == 200
    if shown:
        assert f'value="{shown}"' in response.content.decode()


@pytest.mark.parametrize("joined", ["0001-01-01", "9999-12-31", "1899-12-31", "2100-01-02"])
def test_joined_at_outside_a_sane_range_is_refused(admin_client, joined):
    """joined_at is limited to 1900-2100 by validation: the form names the field, saves nothing."""
    response = admin_client.post(
        f"{URL}add/",
        {"name": "Time Traveller", "age": "40", "joined_at_0": joined, "joined_at_1": "10:00:00"},
    )
    assert response.status_code == 200
    assert "joined_at" in response.context["adminform"].form.errors
    assert not Employee.objects.filter(name="Time Traveller").exists()


def _hierarchy_years(html: str) -> list[str]:
    """The years the changelist's date hierarchy links to."""
    hierarchy = html[html.index('<nav class="toplinks">') :]
    return re.findall(r"<a href=\"[^\"]*joined_at__year=\d+[^\"]*\">(\d{1,4})</a>", hierarchy)


def test_csv_export_neutralises_formula_cells(admin_client):
    """Names a spreadsheet would run as formulas (=, +, -, @, tab, CR) are exported as text."""
    names = ['=HYPERLINK("http://x.invalid","a")', "+1+2", "-3", "@SUM(A1)", "\tTab", "\rCr"]
    plain = ["Ada = Kim", "O'Hara"]
    selected = [Employee.objects.create(name=name, age=30).pk for name in names + plain]
    response = admin_client.post(URL, {"action": "export_csv", "_selected_action": selected})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))[1:]
    exported = {int(row[0]): row[1] for row in rows}
    assert [exported[pk] for pk in selected] == ["'" + name for name in names] + plain


@pytest.mark.django_db(transaction=True, databases=["default", "reader"])
def test_estimated_count_never_ends_the_list(admin_client, stale_row_estimate):
    """With a low estimate (90 of 130 rows) every page is reachable, shown as 'about 90'."""
    call_command("seed_employees", count=130, seed=5, stdout=io.StringIO())
    stale_row_estimate(90)
    first = admin_client.get(URL)
    html = first.content.decode()
    assert "about 90 employees" in html and "All (about 90) selected" in html
    assert 'rel="next"' in html and "?p=2" in html and "?p=3" not in html
    last = admin_client.get(URL, {"p": "3"})
    assert last.status_code == 200
    assert len(last.context["cl"].result_list) == 30
    assert 'rel="next"' not in last.content.decode()
    assert admin_client.get(URL, {"p": "4"}).status_code == 302  # past the end: Django's ?e=1


def test_changelist_shows_and_filters_by_department(admin_client):
    """The admin lists each employee's department and filters by it; departments have a page."""
    from employees_site.employees.models import Department

    legal = Department.objects.create(name="Legal")
    Employee.objects.create(name="Ada Kim", age=20, department=legal)
    Employee.objects.create(name="Bea Park", age=50)
    response = admin_client.get(URL, {"department__id__exact": legal.id})
    assert [e.name for e in response.context["cl"].result_list] == ["Ada Kim"]
    assert "Legal" in response.content.decode()
    assert admin_client.get("/admin/employees/department/").status_code == 200


@pytest.mark.django_db(transaction=True, databases=["default", "reader"])
def test_a_searched_changelist_lists_its_years_in_one_pass(admin_client, wait_for_replica):
    """A name search leaves few rows: its years come from one pass over them (Django's own
    hierarchy), not one query per year through the join-time index (462 ms at a million rows).
    An unfiltered list still skips along the index, without DISTINCT."""
    call_command("seed_employees", count=1500, seed=5, stdout=io.StringIO())
    if connection.vendor == "mysql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE TABLE employees_employee")
    wait_for_replica()
    prefix = Employee.objects.order_by("id").values_list("name", flat=True).first()[:3]
    matching_years = {
        str(joined.year)
        for joined in Employee.objects.filter(name__istartswith=prefix).values_list(
            "joined_at", flat=True
        )
    }
    assert len(matching_years) > 2  # otherwise both ways take two queries or fewer
    for query, distinct in (({"q": prefix}, True), ({}, False)):
        with (
            CaptureQueriesContext(connection) as writer_queries,
            CaptureQueriesContext(connections["reader"]) as reader_queries,
        ):
            response = admin_client.get(URL, query)
        assert response.status_code == 200
        years = _hierarchy_years(response.content.decode())
        captured = writer_queries.captured_queries + reader_queries.captured_queries
        hierarchy = [  # Min/Max aggregates and DISTINCT years of joined_at
            q["sql"] for q in captured if re.search(r"(MIN|MAX|DISTINCT).*joined_at", q["sql"])
        ]
        if distinct:
            assert set(years) == matching_years
            assert len(hierarchy) <= 2, hierarchy
        else:
            assert len(years) > 2 and not any("DISTINCT" in sql.upper() for sql in hierarchy)
