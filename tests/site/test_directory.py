"""The public directory on the MariaDB pair: departments and email, search by any word, cursors
both ways (through the reader, with deletes and renames at a page's boundary), query plans."""

import io
import re
from html import unescape

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from employees_site.employees import selectors
from employees_site.employees.cursors import Cursor
from employees_site.employees.models import Department, Employee, EmployeeWord
from employees_site.employees.selectors import word_matches

# The pair: rows written on the writer are read through the replica.
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "reader"])

NAMES = [
    "Ada Bauer",
    "Ada Kim",
    "Ben Okafor",
    "Chloé Müller",
    "Hans Bauer-Schmidt",
    "Jean-Luc O'Brien",
    "Sam Smith",
    "Zoe Ada",
]


@pytest.fixture
def people(wait_for_replica):
    engineering = Department.objects.create(name="Engineering")
    sales = Department.objects.create(name="Sales")
    created = [
        Employee.objects.create(
            name=name, age=30, department=engineering if i % 2 else sales, email=None
        )
        for i, name in enumerate(NAMES)
    ]
    wait_for_replica()
    return created


def _names(client, url):
    body = client.get(url).json()
    return [row["name"] for row in body["results"]]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("Bauer", ["Ada Bauer", "Hans Bauer-Schmidt"]),
        ("bau", ["Ada Bauer", "Hans Bauer-Schmidt"]),
        ("ada b", ["Ada Bauer"]),
        ("b ada", ["Ada Bauer"]),  # any order
        ("ada", ["Ada Bauer", "Ada Kim", "Zoe Ada"]),
        ("schmidt", ["Hans Bauer-Schmidt"]),  # a word after a hyphen
        ("brien", ["Jean-Luc O'Brien"]),  # after an apostrophe
        ("chloe", ["Chloé Müller"]),  # accents ignored (the collation)
        ("MULLER", ["Chloé Müller"]),
        ("uer", []),  # the middle of a word is not a match
        ("!!", []),  # no word at all
    ],
)
def test_q_matches_the_start_of_any_word(client, people, q, expected):
    """q finds names with a word starting with each of its words, ignoring case and accents."""
    if connection.vendor != "mysql" and q in ("chloe", "MULLER"):
        pytest.skip("accent-insensitivity is the MySQL collation's")
    assert _names(client, f"/api/employees/?q={q}") == expected


def test_a_rename_changes_the_words(client, people, wait_for_replica):
    """Renaming an employee re-indexes its words: the old surname no longer finds them."""
    kim = people[1]
    kim.name = "Ada Lovelace"
    kim.save()
    wait_for_replica()
    assert _names(client, "/api/employees/?q=lovel") == ["Ada Lovelace"]
    assert _names(client, "/api/employees/?q=kim") == []
    assert set(EmployeeWord.objects.filter(employee=kim).values_list("word", flat=True)) == {
        "Ada",
        "Lovelace",
    }


def test_department_filter_and_fields(client, people):
    """department= filters the API and the page; each employee shows its department and email."""
    engineering = Department.objects.get(name="Engineering")
    body = client.get(f"/api/employees/?department={engineering.id}").json()
    assert [row["name"] for row in body["results"]] == NAMES[1::2]
    assert body["results"][0]["department"] == {"id": engineering.id, "name": "Engineering"}
    html = client.get(f"/?department={engineering.id}").content.decode()
    assert "Ada Kim" in html and "Ada Bauer" not in html and "in Engineering" in html
    # The search form's "All departments" choice sends an empty value: everyone.
    assert "Ada Bauer" in client.get("/?q=ada&department=").content.decode()


def test_detail_page_and_api_show_department_and_email(client, people, wait_for_replica):
    """The detail page links its department's list; the API's detail carries both fields."""
    employee = people[1]  # Engineering
    employee.email = "ada.kim@example.com"
    employee.save()
    wait_for_replica()
    html = client.get(f"/employees/{employee.id}/").content.decode()
    department = employee.department
    assert f'href="/?department={department.id}">Engineering</a>' in html
    assert "ada.kim@example.com" in html
    body = client.get(f"/api/employees/{employee.id}/").json()
    assert body["department"] == {"id": department.id, "name": "Engineering"}
    assert body["email"] == "ada.kim@example.com"
    nobody = Employee.objects.create(name="No Department", age=30)
    wait_for_replica()
    assert client.get(f"/api/employees/{nobody.id}/").json()["department"] is None
    assert "<dd>—</dd>" in client.get(f"/employees/{nobody.id}/").content.decode()


def test_email_is_unique_but_optional(people):
    """Two employees cannot share a work email; any number can have none."""
    Employee.objects.filter(pk=people[0].pk).update(email="ada@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        Employee.objects.filter(pk=people[1].pk).update(email="ada@example.com")
    assert Employee.objects.filter(email__isnull=True).count() == len(NAMES) - 1


def test_seed_assigns_departments_emails_and_words(wait_for_replica):
    """The seed command spreads employees over realistic departments, with unique emails and
    their names' words."""
    call_command("seed_employees", count=300, seed=5, stdout=io.StringIO())
    wait_for_replica()
    assert Department.objects.filter(name="Engineering").exists()
    assert Employee.objects.filter(department__isnull=True).count() == 0
    assert Department.objects.filter(employees__isnull=False).distinct().count() >= 8
    emails = list(Employee.objects.exclude(email=None).values_list("email", flat=True))
    assert len(emails) > 200 and len(set(emails)) == len(emails)
    assert EmployeeWord.objects.count() >= 2 * 300


def _walk(client, url, key):
    """Follow ``key`` links ("next" or "previous") from url; the names page by page."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        pages.append([row["name"] for row in body["results"]])
        url = body[key]
    return pages


def test_pages_both_ways(client, people):
    """Next links walk every employee once; previous links from the last page walk them back."""
    forward = _walk(client, "/api/employees/?limit=3", "next")
    assert [name for page in forward for name in page] == sorted(NAMES)
    last = client.get("/api/employees/?limit=3").json()
    while last["next"]:
        last = client.get(last["next"]).json()
    backward = _walk(client, last["previous"], "previous")
    assert backward == list(reversed(forward[:-1]))


def test_deleting_the_boundary_employee_keeps_the_next_page(client, people, wait_for_replica):
    """Deleting the employee a next link starts after still gives the following page, no 400."""
    first = client.get("/api/employees/?limit=2").json()  # Ada Bauer, Ada Kim
    Employee.objects.filter(name="Ada Kim").delete()
    wait_for_replica()
    response = client.get(first["next"])
    assert response.status_code == 200
    assert [row["name"] for row in response.json()["results"]] == ["Ben Okafor", "Chloé Müller"]


def test_renaming_the_boundary_employee_neither_skips_nor_repeats(client, people, wait_for_replica):
    """Renaming the boundary employee (to later in the order) keeps the next page where it was."""
    first = client.get("/api/employees/?limit=2").json()
    Employee.objects.filter(name="Ada Kim").update(name="Yves Kim")
    wait_for_replica()
    names = [name for page in _walk(client, first["next"], "next") for name in page]
    assert names == [
        "Ben Okafor",
        "Chloé Müller",
        "Hans Bauer-Schmidt",
        "Jean-Luc O'Brien",
        "Sam Smith",
        "Yves Kim",
        "Zoe Ada",
    ]


def test_previous_page_after_deleting_its_rows_is_the_first_page(client, people, wait_for_replica):
    """A previous link whose rows are gone opens a full first page, not a short or empty one."""
    second = client.get(client.get("/api/employees/?limit=2").json()["next"]).json()
    Employee.objects.filter(name__in=["Ada Bauer", "Ada Kim"]).delete()
    wait_for_replica()
    body = client.get(second["previous"]).json()
    assert [row["name"] for row in body["results"]] == ["Ben Okafor", "Chloé Müller"]
    assert body["previous"] is None


def test_after_is_still_accepted(client, people):
    """The deprecated after=<id> still pages; an id that is gone is still a 400 naming it."""
    kim = people[1]
    assert _names(client, f"/api/employees/?after={kim.id}&limit=1") == ["Ben Okafor"]
    response = client.get(f"/api/employees/?after={kim.id}&cursor=x")
    assert response.status_code == 400 and response.json()["error"]["parameter"] == "after"


@pytest.mark.parametrize(
    "cursor",
    [
        "x",
        "!!!!",
        "W10",  # []
        Cursor(name="a", id=1).encode()[:-2] + "zz",
        "eyJhIjoxfQ",  # {"a":1}
        "WyJhIiwwLCJuIl0",  # id 0
        "A" * 5000,
    ],
)
def test_a_bad_cursor_is_a_400_naming_it(client, people, cursor):
    """A cursor that was not made by the list is a 400 naming ``cursor``, on the API and page."""
    response = client.get("/api/employees/", {"cursor": cursor})
    assert response.status_code == 400
    assert response.json()["error"]["parameter"] == "cursor"
    assert client.get("/", {"cursor": cursor}).status_code == 400


def test_list_page_links_first_previous_next_and_back(client, people):
    """The page shows "N of M", first/previous/next links, and detail links that lead back."""
    html = client.get("/?limit=3").content.decode()
    assert "Showing 3 of 8" in html
    assert 'rel="first"' not in html and 'rel="prev"' not in html
    next_url = unescape(re.search(r'rel="next" href="([^"]+)"', html)[1])
    second = client.get(next_url).content.decode()
    assert 'rel="first"' in second and 'rel="prev"' in second
    detail_url = unescape(re.search(r'<td data-label="Name"><a href="([^"]+)"', second)[1])
    detail = client.get(detail_url).content.decode()
    back = unescape(re.search(r'<p class="back"><a href="([^"]+)"', detail)[1])
    assert back == next_url


def test_detail_back_link_cannot_leave_the_list(client, people):
    """A forged ``back`` is re-encoded as list parameters or dropped: it never leaves /."""
    pk = people[0].pk
    for back in ("//evil.example/", "cursor=bad", "q=ada&x=%22%3E%3Cscript%3E"):
        detail = client.get(f"/employees/{pk}/", {"back": back}).content.decode()
        link = unescape(re.search(r'<p class="back"><a href="([^"]+)"', detail)[1])
        assert link in ("/", "/?q=ada")


def test_empty_search_says_so(client, people):
    """A search without matches shows an empty state with a way back to everyone."""
    html = client.get("/?q=nobodyhere").content.decode()
    assert 'class="empty"' in html and "Show everyone" in html


def _plan(queryset) -> list[dict]:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        columns = [column[0].lower() for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def test_word_search_is_an_index_range_on_the_words_table():
    """On MySQL a word search reads a range of the words index, never a scan of either table."""
    if connection.vendor != "mysql":
        pytest.skip("EXPLAIN output is MySQL's")
    call_command("seed_employees", count=3000, seed=11, stdout=io.StringIO())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE TABLE employees_employee, employees_employeeword")
    for q in ("Bauer", "ada b"):
        words = word_matches(q, department=None).values_list("name", "employee_id")
        plan = _plan(words.order_by("name", "employee_id")[:51])
        # The longest word drives: a range of the (word, name, employee) index, read from the
        # index alone. Each other word is a lookup per candidate on (employee, word) or, as
        # MariaDB's optimizer sometimes prefers on a small table (seen once in CI), that word's
        # own range of the words index, materialized once and joined by key. Never a scan.
        assert plan[0]["key"] == "employee_word_name_idx", plan
        assert plan[0]["type"] == "range" and "Using index" in plan[0]["extra"], plan
        assert all(row["type"] in ("range", "ref", "eq_ref") for row in plan), plan
        words = [row for row in plan if not str(row["table"]).startswith("<")]
        assert len(words) == len(q.split()), plan
        assert all(
            row["key"] in ("employee_word_name_idx", "employee_word_unique") for row in words
        ), plan


def test_index_employee_words_finds_rows_written_without_words(client, wait_for_replica):
    """Rows an older release wrote (no words) are found after index_employee_words runs."""
    Employee.objects.bulk_create([Employee(name="Grace Hopper", age=40)])  # skips save()
    wait_for_replica()
    assert _names(client, "/api/employees/?q=hopper") == []
    out = io.StringIO()
    call_command("index_employee_words", stdout=out)
    wait_for_replica()
    assert "Indexed 2 words of 1 employees" in out.getvalue()
    assert _names(client, "/api/employees/?q=hopper") == ["Grace Hopper"]


def test_a_name_with_two_matching_words_is_listed_once(client, wait_for_replica):
    """ "Ana Anders" has two words starting with "an": one row, on every page, both ways."""
    for name in ("Ana Anders", "Anna Andersen Anton", "Bo Anh", "Cy Ng"):
        Employee.objects.create(name=name, age=30)
    wait_for_replica()
    forward = _walk(client, "/api/employees/?q=an&limit=1", "next")
    assert forward == [["Ana Anders"], ["Anna Andersen Anton"], ["Bo Anh"]]
    last = client.get("/api/employees/?q=an&limit=1").json()
    while last["next"]:
        last = client.get(last["next"]).json()
    assert _walk(client, last["previous"], "previous") == [["Anna Andersen Anton"], ["Ana Anders"]]
    assert "Showing 3 of 3" in client.get("/?q=an").content.decode()


def test_a_big_list_says_about_how_many(client, wait_for_replica, monkeypatch):
    """Past the exact-count threshold the page shows the planner's estimate, rounded, as "about"."""
    from employees_site.employees import selectors

    if connection.vendor != "mysql":
        pytest.skip("the estimate is MySQL's EXPLAIN")
    monkeypatch.setattr(selectors, "EXACT_BELOW", 10)
    call_command("seed_employees", count=300, seed=2, stdout=io.StringIO())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE TABLE employees_employee")
    wait_for_replica()
    summary = re.search(r'<p class="summary">([^<]+)</p>', client.get("/").content.decode())[1]
    assert re.fullmatch(r"Showing 50 of about [0-9,]+\.", summary), summary


def test_page_rows_are_the_orms_rows_in_every_shape(people, wait_for_replica):
    """The list's one hand-built statement (``selectors._rows``) returns what the ORM query it
    stands for returns: first pages, forward and backward cursors at every row (ties on the
    name included), with and without a department, and with no department at all."""
    Employee.objects.create(name="Ada Kim", age=41, department=None)
    Employee.objects.create(name="Ada Kim", age=52, department=people[1].department)
    wait_for_replica()
    everyone = list(Employee.objects.order_by("name", "id").values("name", "id"))
    cursors = [None] + [
        Cursor(name=row["name"], id=row["id"], backward=backward)
        for row in everyone
        for backward in (False, True)
    ]
    for department in (None, people[0].department_id, people[1].department_id):
        for cursor in cursors:
            for count in (1, 3, 50):
                expected = list(
                    selectors._after(
                        selectors.matching(department=department).values(*selectors.PUBLIC_FIELDS),
                        cursor,
                        "id",
                    )[:count]
                )
                assert selectors._rows(department, cursor, count) == expected, (
                    department,
                    cursor,
                    count,
                )


def test_page_statement_reads_the_name_index_in_order():
    """On MySQL the page statement reads the (name, id) index, or (department, name, id) for a
    department, in index order: no filesort, whatever the cursor's direction."""
    if connection.vendor != "mysql":
        pytest.skip("EXPLAIN output is MySQL's")
    call_command("seed_employees", count=3000, seed=12, stdout=io.StringIO())
    department = Department.objects.order_by("id").values_list("id", flat=True).first()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE TABLE employees_employee")
    for backward in (False, True):
        at = Cursor(name="M", id=1, backward=backward)
        for department_id, index in (
            (None, "employee_name_id_idx"),
            (department, "employee_dept_name_id_idx"),
        ):
            sql = selectors._page_sql(connection, department=department_id is not None, cursor=at)
            params = [] if department_id is None else [department_id]
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN " + sql, [*params, at.name, at.name, at.id, 51])
                columns = [column[0].lower() for column in cursor.description]
                plan = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
            # A range or ref of the index or, should the optimizer prefer it for a cursor that
            # covers much of a small table, the index read in order up to the LIMIT: never a
            # table scan, never a sort.
            assert plan[0]["key"] == index and plan[0]["type"] in ("range", "ref", "index"), plan
            assert "filesort" not in (plan[0]["extra"] or ""), plan
