"""The API against its own OpenAPI description: a property-based run (schemathesis) against a
live server on the test database (the MariaDB pair in make test)."""

import io

import pytest
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from employees_site.employees import openapi
from employees_site.employees.models import Employee

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "reader"])

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    unsupported_method,
]


@pytest.fixture
def api_server(live_server, wait_for_replica) -> str:
    """The live server's URL, with a few employees (and an awkward name) to read."""
    call_command("seed_employees", count=60, seed=7, stdout=io.StringIO())
    Employee.objects.create(name='=cmd|"/c calc"!A1 \u00e9\u4e2d', age=16)
    wait_for_replica()
    return live_server.url


# The description the site serves (test_schema_is_served_as_built checks they are the same).
schema = schemathesis.openapi.from_dict(openapi.document("http://testserver"))


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_answers_as_its_schema_says(case, api_server):
    """No 5xx, and every status, header and body is one the schema describes, for valid and
    invalid input and for methods the schema does not list."""
    case.call_and_validate(base_url=api_server, checks=CHECKS)


def test_schema_is_served_as_built(client):
    """/api/schema/ serves the document the contract test uses, naming the site as its server."""
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert response.json() == openapi.document("http://testserver")
