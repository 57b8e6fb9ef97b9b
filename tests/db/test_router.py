"""The writer/reader router on the real pair: reads on the replica, read-your-writes, fallback,
and surviving a writer restart or demotion. Data is committed (transaction=True) and replicated
before it is read through the replica."""

import json
import logging
import time
import uuid
from collections import defaultdict

import pytest
from django.contrib.auth import get_user_model
from django.db import close_old_connections, connections, transaction
from django.test import Client

from employees_site.db import errors
from employees_site.db.middleware import PIN_COOKIE
from employees_site.db.routing import use_writer
from employees_site.employees.models import Employee

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "reader"])

ADMIN_ADD = "/admin/employees/employee/add/"


@pytest.fixture
def queries():
    """SQL run per alias while the fixture is active: {'default': [...], 'reader': [...]}."""
    seen = defaultdict(list)

    def recorder(alias):
        def record(execute, sql, params, many, context):
            seen[alias].append(sql)
            return execute(sql, params, many, context)

        return record

    for alias in ("default", "reader"):
        # Connected first, so the routing tracker is installed before the recorder (and the
        # recorder, last in, is the one removed on leaving).
        connections[alias].ensure_connection()
    with (
        connections["default"].execute_wrapper(recorder("default")),
        connections["reader"].execute_wrapper(recorder("reader")),
    ):
        yield seen


@pytest.fixture
def operator(client, mariadb_pair):
    """A logged-in admin client whose session has reached the replica."""
    user = get_user_model().objects.create_superuser("operator", "", "pw-operator-123")
    client.force_login(user)
    mariadb_pair.wait_for_replica()
    return client


@pytest.fixture(autouse=True)
def short_cooldown(settings):
    """The reader is tried again half a second after it failed."""
    settings.DATABASE_READER_COOLDOWN = 0.5


def _add(client, name):
    data = {"name": name, "age": "30", "joined_at_0": "2024-01-01", "joined_at_1": "10:00:00"}
    return client.post(ADMIN_ADD, data)


def _names(client, prefix):
    # What Django does at the start of every request in production (the test client skips it):
    # persistent connections are due a health check before their first use in the request.
    close_old_connections()
    response = client.get("/api/employees/", {"q": prefix})
    assert response.status_code == 200
    return [row["name"] for row in response.json()["results"]]


def _server_id(alias):
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT @@server_id")
        return cursor.fetchone()[0]


def test_reads_go_to_the_replica_and_writes_to_the_primary(client, operator, queries, mariadb_pair):
    """A plain GET reads from server 2 (replica); the admin's insert runs on server 1 (primary)."""
    Employee.objects.create(name="Reader Rita", age=40)
    mariadb_pair.wait_for_replica()
    queries.clear()
    assert _names(client, "Reader") == ["Reader Rita"]
    assert queries["reader"] and not queries["default"]
    assert (_server_id("reader"), _server_id("default")) == (2, 1)

    queries.clear()
    assert _add(operator, "Writer Wanda").status_code == 302
    inserts = [sql for sql in queries["default"] if sql.startswith("INSERT")]
    assert inserts and not any(sql.startswith("INSERT") for sql in queries["reader"])


def test_a_client_reads_its_own_write_during_replica_lag(client, operator, mariadb_pair):
    """With the replica stalled, the writer's client sees its new row (cookie); others do not."""
    name = f"Lagging {uuid.uuid4().hex[:6]}"
    other = Client()
    with mariadb_pair.lag():
        response = _add(operator, name)
        assert response.status_code == 302
        assert PIN_COOKIE in response.cookies
        changelist = operator.get(response["Location"])  # the admin's POST-redirect-GET
        assert name in changelist.content.decode()
        assert _names(operator, "Lagging") == [name]
        assert _names(other, "Lagging") == []  # the replica, still behind
    assert _names(other, "Lagging") == [name]  # caught up


def test_pin_expires_after_the_window(operator, settings, mariadb_pair, queries):
    """After the pinning window the writer's client reads from the replica again."""
    # The signed cookie's timestamp has whole seconds: the pin lasts between 1 and 2 s here.
    settings.DATABASE_PIN_SECONDS = 2
    assert _add(operator, "Pinned Pat").status_code == 302
    mariadb_pair.wait_for_replica()
    queries.clear()
    operator.get("/api/employees/")
    assert queries["default"] and not queries["reader"]
    time.sleep(2.1)
    queries.clear()
    operator.get("/api/employees/")
    assert queries["reader"] and not queries["default"]


def test_reads_inside_atomic_and_use_writer_go_to_the_writer(queries):
    """Inside atomic() on the writer, and inside use_writer(), reads use the writer."""
    with transaction.atomic():
        list(Employee.objects.all())
    with use_writer():
        list(Employee.objects.all())

    @use_writer()
    def fresh():
        return list(Employee.objects.all())

    fresh()
    assert len(queries["default"]) >= 3 and not queries["reader"]


def test_a_forged_pin_cookie_is_ignored(client, queries):
    """A pin cookie without a valid signature does not pin reads to the writer."""
    client.cookies[PIN_COOKIE] = "1"
    client.get("/api/employees/")
    assert queries["reader"] and not queries["default"]


@pytest.mark.drill
def test_reader_down_falls_back_to_the_writer_and_returns(client, mariadb_pair, queries, caplog):
    """With the replica stopped GETs still succeed on the writer; after the cooldown they return.

    The reader's persistent connection is open when it dies, as in production."""
    caplog.set_level(logging.WARNING, logger="employees_site.db.routing")
    Employee.objects.create(name="Fallback Fay", age=33)
    mariadb_pair.wait_for_replica()
    assert _names(client, "Fallback") == ["Fallback Fay"]
    assert connections["reader"].connection is not None
    mariadb_pair.replica.stop()
    try:
        queries.clear()
        for _ in range(5):
            assert _names(client, "Fallback") == ["Fallback Fay"]
        assert queries["default"] and not queries["reader"]
        status = client.get("/readyz")
        assert status.status_code == 503
        assert status.json()["checks"]["reader"].startswith("fallback")
    finally:
        mariadb_pair.replica.start()
    mariadb_pair.wait_for_replica()
    time.sleep(0.6)  # the cooldown
    queries.clear()
    assert _names(client, "Fallback") == ["Fallback Fay"]
    assert queries["reader"]
    messages = [r.getMessage() for r in caplog.records]
    assert sum("reader unreachable" in m for m in messages) == 1
    assert sum("reader reachable again" in m for m in messages) == 1


@pytest.mark.drill
def test_writer_restart_gives_503_then_recovers(operator, mariadb_pair):
    """While the primary is down writes get 503 (not 500); afterwards they succeed, no restart."""
    reader_only = Client()
    assert _add(operator, "Before Restart").status_code == 302
    mariadb_pair.wait_for_replica()
    mariadb_pair.primary.stop()
    try:
        response = _add(operator, "During Restart")
        assert response.status_code == 503
        assert response["Retry-After"] == "5"
        assert reader_only.get("/api/employees/").status_code == 200  # the replica serves on
    finally:
        mariadb_pair.primary.start()
    assert _add(operator, "After Restart").status_code == 302
    assert set(Employee.objects.using("default").values_list("name", flat=True)) == {
        "Before Restart",
        "After Restart",
    }


@pytest.mark.drill
def test_demoted_writer_fails_writes_cleanly_and_drops_the_connection(operator, mariadb_pair):
    """A read-only writer (failover) makes writes 503 and closes the connection; then recovers."""
    mariadb_pair.primary.execute("SET GLOBAL read_only = ON")
    try:
        response = _add(operator, "Demoted Dora")
        assert response.status_code == 503
        assert connections["default"].connection is None
    finally:
        mariadb_pair.primary.execute("SET GLOBAL read_only = OFF")
    assert _add(operator, "Promoted Polly").status_code == 302
    assert list(Employee.objects.using("default").values_list("name", flat=True)) == [
        "Promoted Polly"
    ]


def test_relations_between_writer_and_reader_objects_are_allowed():
    """Objects read from either alias may be related; migrations are allowed on the writer only."""
    from employees_site.db.router import PrimaryReplicaRouter

    router = PrimaryReplicaRouter()
    on_writer, on_reader = Employee(name="W", age=30), Employee(name="R", age=30)
    on_writer._state.db, on_reader._state.db = "default", "reader"
    assert router.allow_relation(on_writer, on_reader) is True
    assert router.allow_migrate("default", "employees") is True
    assert router.allow_migrate("reader", "employees") is False


@pytest.mark.drill
def test_readyz_reports_replica_lag_where_the_user_may_read_it(client, mariadb_pair):
    """With a monitoring grant the replica's lag is reported; without it, null (not an error)."""
    assert client.get("/readyz").json()["replica_lag_seconds"] is None  # db-level grants only
    mariadb_pair.primary.execute("GRANT SLAVE MONITOR ON *.* TO 'app'@'127.0.0.1'")
    mariadb_pair.wait_for_replica()
    try:
        connections["reader"].close()  # privileges are read at connect
        body = client.get("/readyz").json()
    finally:
        mariadb_pair.primary.execute("REVOKE SLAVE MONITOR ON *.* FROM 'app'@'127.0.0.1'")
        mariadb_pair.wait_for_replica()
        connections["reader"].close()
    assert body["ready"] is True
    assert body["replica_lag_seconds"] == 0.0


def test_a_database_outage_outside_a_view_is_a_503_too(rf):
    """handler500 answers a demoted writer's 1290 raised outside any view with a 503."""
    from django.db import OperationalError

    from employees_site.db.middleware import server_error

    connections["default"].ensure_connection()
    try:
        raise OperationalError(1290, "The MySQL server is running with the --read-only option")
    except OperationalError:
        response = server_error(rf.get("/admin/"))
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert connections["default"].connection is None  # dropped, to reconnect through DNS
    try:
        raise ValueError("a bug")
    except ValueError:
        assert server_error(rf.get("/")).status_code == 500


@pytest.mark.drill
def test_replica_lag_at_login_never_logs_the_user_out(client, mariadb_pair, settings):
    """Past the pin window, a replica that has no session row (lag) neither logs out nor loses
    the session: sessions and the logged-in user are read on the writer."""
    settings.DATABASE_PIN_SECONDS = 1
    get_user_model().objects.create_superuser("lagged", "", "pw-lagged-123")
    mariadb_pair.wait_for_replica()
    with mariadb_pair.lag():
        login = client.post(
            "/admin/login/?next=/admin/", {"username": "lagged", "password": "pw-lagged-123"}
        )
        assert login.status_code == 302 and login["Location"] == "/admin/"
        changed = client.post(
            "/admin/password_change/",
            {
                "old_password": "pw-lagged-123",
                "new_password1": "pw-lagged-456-new",
                "new_password2": "pw-lagged-456-new",
            },
        )
        assert changed.status_code == 302
        time.sleep(2.1)  # the pin (whole-second timestamps) has expired; the replica still lags
        close_old_connections()
        page = client.get("/admin/")
        assert page.status_code == 200, page.get("Location")
        assert client.cookies["sessionid"].value
    close_old_connections()
    assert client.get("/admin/").status_code == 200  # and after the replica catches up


@pytest.mark.parametrize("code", sorted(errors.UNAVAILABLE))
def test_every_service_condition_is_a_503_with_retry_after(rf, code):
    """Each MySQL code of a service condition (1040 too many connections among them) answers
    503 with Retry-After, JSON on the API; a suspect connection is dropped, a sound one kept."""
    from django.db import OperationalError

    from employees_site.db.middleware import server_error

    connections["default"].ensure_connection()
    try:
        raise OperationalError(code, "condition")
    except OperationalError:
        response = server_error(rf.get("/api/employees/"))
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert "error" in json.loads(response.content)
    dropped = connections["default"].connection is None
    assert dropped is (code not in errors.CONTENTION)
