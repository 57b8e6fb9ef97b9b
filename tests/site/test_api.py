"""The JSON API and the public pages: keyset pages, prefix search, and clear 400/404s."""

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import get_callable

from employees_site.employees.cursors import Cursor
from employees_site.employees.models import Employee
from employees_site.employees.selectors import employee_page

pytestmark = pytest.mark.django_db

NAMES = ["Bea Park", "Ada Xu", "Ben Okafor", "Ada Kim", "Carlos Silva", "ada lower"]


@pytest.fixture
def employees():
    return [Employee.objects.create(name=name, age=30 + i) for i, name in enumerate(NAMES)]


def _walk(client, url):
    """Follow `next` links from url; return every name seen and the number of pages."""
    names, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        body = response.json()
        names += [row["name"] for row in body["results"]]
        pages += 1
        url = body["next"]
    return names, pages


def test_pages_cover_every_employee_once_in_name_order(client, employees):
    """Walking the next links returns every employee once, ordered by name then id."""
    names, pages = _walk(client, "/api/employees/?limit=2")
    assert sorted(names) == sorted(NAMES)
    assert pages == 3
    # The database's collation decides where "ada lower" falls; the rest is plain A-Z.
    assert [n for n in names if n != "ada lower"] == sorted(set(NAMES) - {"ada lower"})
    assert names == list(Employee.objects.order_by("name", "id").values_list("name", flat=True))


def test_prefix_search_pages(client, employees):
    """q filters by name prefix, case-insensitively, and keeps q in the next link."""
    names, pages = _walk(client, "/api/employees/?q=ada&limit=1")
    assert sorted(n.lower() for n in names) == ["ada kim", "ada lower", "ada xu"]
    assert pages == 3


def test_next_link_is_absolute_and_carries_the_cursor(client, employees):
    """The next link is an absolute URL with an opaque cursor, limit and q."""
    body = client.get("/api/employees/?limit=1&q=B").json()
    assert body["next"].startswith("http://testserver/api/employees/?cursor=")
    assert "limit=1" in body["next"] and "q=B" in body["next"]
    assert body["previous"] is None


def test_last_page_has_no_next(client, employees):
    """A page that reaches the end has next = null."""
    assert client.get("/api/employees/?limit=200").json()["next"] is None


def test_detail(client, employees):
    """/api/employees/<id>/ returns the employee's fields."""
    employee = employees[0]
    body = client.get(f"/api/employees/{employee.id}/").json()
    assert body == {
        "id": employee.id,
        "name": employee.name,
        "age": employee.age,
        "joined_at": employee.joined_at.isoformat(),
        "email": None,
        "department": None,
    }


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=-5", "limit"),
        ("limit=", "limit"),
        ("after=-1", "after"),
        ("after=0", "after"),
        ("after=1.5", "after"),
        ("after=99999999999999999999999", "after"),
        ("after=%D9%A3", "after"),  # an Arabic-Indic digit
        ("after=123456", "after"),  # no such employee
        ("limit=" + "9" * 5000, "limit"),  # beyond what int() takes from a string
        ("limit=1&limit=2", "limit"),
        ("q=" + "x" * 101, "q"),
        ("q=%00a", "q"),
        ("page=2", "page"),
    ],
)
def test_bad_parameters_get_a_400_naming_them(client, employees, query, parameter):
    """Each bad parameter gets a JSON 400 that names it, never a 500."""
    response = client.get(f"/api/employees/?{query}")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["parameter"] == parameter


@pytest.mark.parametrize("pk", ["123456", "99999999999999999999999"])
def test_unknown_id_gets_a_json_404(client, employees, pk):
    """An id that does not exist, even beyond 64 bits, is a JSON 404."""
    response = client.get(f"/api/employees/{pk}/")
    assert response.status_code == 404
    assert "no employee" in response.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/api/employees/", "/api/employees/1/", "/api/schema/"])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
def test_unsafe_methods_get_a_json_405_with_allow(employees, path, method):
    """Other methods than GET/HEAD get a JSON 405 with Allow, not the CSRF failure page."""
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)(path, {"name": "x"}, content_type="application/json")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response["Content-Type"] == "application/json"
    assert method.upper() in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/",
        "/api/nope",
        "/api/employees",
        "/api/employees/abc/",
        "/api/employees/-1/",
        "/api/employees/1/extra/",
        "/api/employees/%E2%80%8B1/",
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_unknown_api_paths_get_a_json_404(employees, path, method):
    """Unknown paths and non-numeric ids under /api/ are a JSON 404, whatever the method."""
    response = getattr(Client(enforce_csrf_checks=True), method)(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "/api/schema/" in response.json()["error"]["message"]


def test_a_parameter_without_a_name_is_named(client, employees):
    """?=x is a 400 whose error says the parameter has no name (parameter: "")."""
    error = client.get("/api/employees/?=x").json()["error"]
    assert error["parameter"] == ""
    assert "has no name" in error["message"]


def test_an_unexpected_error_under_api_is_json(rf):
    """The 500 handler answers JSON under /api/ and the site's page elsewhere."""
    from employees_site import urls

    handler = get_callable(urls.handler500)
    response = handler(rf.get("/api/employees/"))
    assert response.status_code == 500
    assert json.loads(response.content)["error"]["message"]
    page = handler(rf.get("/"))
    assert page.status_code == 500 and b'href="/static/employees/site.css"' in page.content


def test_keyset_queries_never_use_offset(employees):
    """A later page is a keyset query (no OFFSET) plus a one-row probe for a previous page."""
    with CaptureQueriesContext(connection) as captured:
        employee_page(cursor=Cursor(name="Ada Xu", id=employees[1].id), limit=2)
    assert len(captured) == 2
    assert all("OFFSET" not in q["sql"].upper() for q in captured.captured_queries)


def test_list_page_shows_a_search_box_and_next_link(client, employees):
    """/ renders the table, the search box and a link to the next page."""
    response = client.get("/?limit=2")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="q"' in html and 'rel="next"' in html
    assert html.count("<tr") == 3  # header + 2 rows


def test_list_page_bad_parameter_is_a_400_page(client, employees):
    """A bad parameter on the HTML list is a 400 page naming it."""
    response = client.get("/?limit=abc")
    assert response.status_code == 400
    assert "<code>limit</code>" in response.content.decode()


def test_detail_page(client, employees):
    """/employees/<id>/ shows the employee; an unknown id is a 404."""
    assert employees[0].name in client.get(f"/employees/{employees[0].id}/").content.decode()
    assert client.get("/employees/123456/").status_code == 404


def test_list_page_ignores_unknown_parameters(client, employees):
    """Shared links with tracking parameters still open the list; the API stays strict."""
    assert client.get("/?utm_source=newsletter").status_code == 200
    assert client.get("/api/employees/?utm_source=newsletter").status_code == 400


def test_pages_break_ties_between_equal_names_by_id(client):
    """Employees with one name, split across pages, all come back once, in id order."""
    same = [Employee.objects.create(name="Sam Smith", age=30) for _ in range(5)]
    ids, pages = [], 0
    url = "/api/employees/?limit=2&q=Sam"
    while url:
        body = client.get(url).json()
        ids += [row["id"] for row in body["results"]]
        pages += 1
        url = body["next"]
    assert ids == sorted(e.id for e in same)
    assert pages == 3


@pytest.mark.django_db(transaction=True)  # ANALYZE TABLE commits implicitly on MySQL
def test_prefix_page_query_uses_the_name_index():
    """On MySQL the planner serves a prefix page from the (name, id) index."""
    if connection.vendor != "mysql":
        pytest.skip("EXPLAIN output is MySQL's")
    Employee.objects.using("default").bulk_create(
        Employee(name=f"Name {i:04d}", age=30) for i in range(300)
    )
    queryset = Employee.objects.using("default").filter(name__istartswith="Name 01")
    queryset = queryset.order_by("name", "id")[:51]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE TABLE employees_employee")
    plan = queryset.explain()
    assert "employee_name_id_idx" in plan
    assert "filesort" not in plan.lower()
