"""Login throttling (django-axes): failures per username and per address lock out, on the writer."""

import contextlib

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from employees_site.lockout import client_ip
from tests.harness.plugin import TEST_DB

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "reader"])

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "right-pass-123"


@pytest.fixture
def operator(wait_for_replica):
    get_user_model().objects.create_superuser("operator", "", PASSWORD)
    wait_for_replica()
    return "operator"


def _login(username, password, address="198.51.100.1"):
    """One login from a fresh client (no cookies: no pin to the writer), from ``address``."""
    return Client(REMOTE_ADDR=address).post(LOGIN, {"username": username, "password": password})


@pytest.fixture
def replica_lag(request):
    """Inside: the replica applies nothing (MariaDB pair), so the reader misses new writes."""
    if TEST_DB == "sqlite":
        return contextlib.nullcontext
    return request.getfixturevalue("mariadb_pair").lag


@pytest.mark.drill
def test_five_failures_for_a_username_lock_it_out_while_the_reader_lags(operator, replica_lag):
    """The fifth failure and any later try, even with the right password and from another
    address, get a 429 page;
    failures are counted on the writer, so a lagging reader does not hand out extra tries."""
    with replica_lag():
        for attempt in range(4):
            response = _login(operator, "wrong", address=f"198.51.100.{attempt + 1}")
            assert response.status_code == 200  # the form again, with its error
        assert _login(operator, "wrong", address="198.51.100.5").status_code == 429  # the 5th
        locked = _login(operator, PASSWORD, address="198.51.100.99")
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == 15 * 60
    page = locked.content.decode()
    assert "Too many failed logins" in page and "15 minutes" in page
    assert 'href="/static/employees/site.css"' in page
    call_command("axes_reset_username", operator)
    assert _login(operator, PASSWORD).status_code == 302


def test_one_address_trying_many_usernames_is_locked_out(operator):
    """Five failures from one address, each for another name, lock that address out."""
    for attempt in range(4):
        assert _login(f"guess{attempt}", "wrong", address="203.0.113.5").status_code == 200
    assert _login("guess4", "wrong", address="203.0.113.5").status_code == 429
    assert _login(operator, PASSWORD, address="203.0.113.5").status_code == 429
    assert _login(operator, PASSWORD, address="203.0.113.6").status_code == 302


def test_a_successful_login_resets_the_count(operator):
    """Four failures, a success, then four more failures: still not locked out."""
    for _ in range(2):
        for _ in range(4):
            assert _login(operator, "wrong").status_code == 200
        assert _login(operator, PASSWORD).status_code == 302


def test_behind_the_load_balancer_the_client_is_the_last_forwarded_address(rf, settings):
    """Behind the ALB the address counted is the one the ALB appended, not a forged one."""
    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7", REMOTE_ADDR="10.0.1.9")
    settings.BEHIND_LOAD_BALANCER = True
    assert client_ip(request) == "203.0.113.7"
    settings.BEHIND_LOAD_BALANCER = False
    assert client_ip(request) == "10.0.1.9"
