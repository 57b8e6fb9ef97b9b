"""The API's OpenAPI 3 description, served at /api/schema/ and checked by a property-based test.

Built from plain dicts with one helper per reusable part, so a new endpoint or parameter is a few
lines: add its path to ``paths()``, its schema to ``COMPONENTS["schemas"]``, and point responses
at the shared errors (``error_response``). The limits come from the same constants the parser
uses, so the description cannot drift from the checks.
"""

from __future__ import annotations

from .cursors import MAX_ENCODED as MAX_CURSOR_LENGTH
from .models import DEPARTMENT_NAME_MAX_LENGTH, MAX_AGE, MIN_AGE, NAME_MAX_LENGTH
from .params import DEFAULT_LIMIT, MAX_ID, MAX_LIMIT

OPENAPI_VERSION = "3.0.3"
ALLOWED_METHODS = "GET, HEAD"  # every endpoint is read-only


def _ref(kind: str, name: str) -> dict:
    return {"$ref": f"#/components/{kind}/{name}"}


def error_response(description: str, *, retry_after: bool = False) -> dict:
    """A response whose body is the API's one error shape."""
    response = {
        "description": description,
        "content": {"application/json": {"schema": _ref("schemas", "Error")}},
    }
    if retry_after:
        response["headers"] = {"Retry-After": _ref("headers", "RetryAfter")}
    return response


COMPONENTS = {
    "schemas": {
        "Employee": {
            "type": "object",
            "required": ["id", "name", "age", "joined_at", "email", "department"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                "name": {"type": "string", "maxLength": NAME_MAX_LENGTH},
                "age": {"type": "integer", "minimum": MIN_AGE, "maximum": MAX_AGE},
                "joined_at": {"type": "string", "format": "date-time"},
                "email": {
                    "type": "string",
                    "maxLength": 254,
                    "nullable": True,
                    "description": "The work email, unique; null when there is none.",
                },
                "department": {
                    "allOf": [_ref("schemas", "Department")],
                    "nullable": True,
                    "description": "null when the employee has no department.",
                },
            },
        },
        "Department": {
            "type": "object",
            "required": ["id", "name"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                "name": {"type": "string", "maxLength": DEPARTMENT_NAME_MAX_LENGTH},
            },
        },
        "EmployeePage": {
            "type": "object",
            "required": ["results", "next", "previous"],
            "additionalProperties": False,
            "properties": {
                "results": {"type": "array", "items": _ref("schemas", "Employee")},
                "next": {
                    "type": "string",
                    "format": "uri",
                    "nullable": True,
                    "description": "The next page's URL (with `cursor`), or null on the last page.",
                },
                "previous": {
                    "type": "string",
                    "format": "uri",
                    "nullable": True,
                    "description": "The previous page's URL, or null on the first page.",
                },
            },
        },
        "Error": {
            "type": "object",
            "required": ["error"],
            "additionalProperties": False,
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["message"],
                    "additionalProperties": False,
                    "properties": {
                        "message": {"type": "string"},
                        "parameter": {
                            "type": "string",
                            "description": "The query parameter that is wrong, if one is.",
                        },
                    },
                }
            },
        },
    },
    "headers": {
        "RetryAfter": {
            "description": "Seconds to wait before retrying.",
            "schema": {"type": "integer", "minimum": 0},
        }
    },
    "responses": {
        "BadRequest": error_response("A parameter is wrong; the error names it."),
        "NotFound": error_response("No such employee, or no such API path."),
        "Unavailable": error_response(
            "The database is briefly unavailable; retry after Retry-After seconds.",
            retry_after=True,
        ),
    },
}


def _query(name: str, schema: dict, description: str) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def paths() -> dict:
    """Each endpoint's operations; errors shared through COMPONENTS["responses"]."""
    unavailable = _ref("responses", "Unavailable")
    return {
        "/api/employees/": {
            "get": {
                "operationId": "listEmployees",
                "summary": "Employees in (name, id) order, one page at a time.",
                "parameters": [
                    _query(
                        "cursor",
                        {"type": "string", "maxLength": MAX_CURSOR_LENGTH},
                        "Where the page starts: opaque, taken from `next` or `previous`. It "
                        "holds when the employee at the boundary was deleted or renamed.",
                    ),
                    {
                        **_query(
                            "after",
                            {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                            "Deprecated (use `cursor`): the id of the last employee of the "
                            "previous page; an id that no longer exists is a 400. Not with "
                            "`cursor`.",
                        ),
                        "deprecated": True,
                    },
                    _query(
                        "department",
                        {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                        "Only employees of this department (its id).",
                    ),
                    _query(
                        "limit",
                        {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_LIMIT,
                            "default": DEFAULT_LIMIT,
                        },
                        "Employees per page.",
                    ),
                    _query(
                        "q",
                        {
                            "type": "string",
                            "maxLength": NAME_MAX_LENGTH,
                            "pattern": "^[^\\u0000-\\u001f]*$",
                        },
                        "Only names with a word starting with each word of this, in any "
                        "order (`Bauer`, `ada b`), ignoring case and accents.",
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "One page of employees.",
                        "content": {
                            "application/json": {"schema": _ref("schemas", "EmployeePage")}
                        },
                    },
                    "400": _ref("responses", "BadRequest"),
                    "503": unavailable,
                },
            }
        },
        "/api/employees/{id}/": {
            "get": {
                "operationId": "getEmployee",
                "summary": "One employee.",
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "The employee.",
                        "content": {"application/json": {"schema": _ref("schemas", "Employee")}},
                    },
                    "404": _ref("responses", "NotFound"),
                    "503": unavailable,
                },
            }
        },
        "/api/schema/": {
            "get": {
                "operationId": "getSchema",
                "summary": "This description (OpenAPI 3).",
                "responses": {
                    "200": {
                        "description": "The OpenAPI document.",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    }


def document(server_url: str) -> dict:
    """The whole OpenAPI document, with ``server_url`` (the site's origin) as its server."""
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Employees API",
            "version": "1",
            "description": (
                "Read-only. Every response is JSON; errors have the shape `Error`. Methods other "
                f"than {ALLOWED_METHODS} get 405 with an `Allow` header; unknown paths under "
                "/api/ get 404."
            ),
        },
        "servers": [{"url": server_url}],
        "paths": paths(),
        "components": COMPONENTS,
    }
