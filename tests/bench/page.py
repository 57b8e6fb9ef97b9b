"""The API's first page done by hand: the site's SQL and JSON, for the blog-way and floor apps.

Both apps answer ``GET /api/employees/?limit=N`` with the same bytes as the site (the runner
checks that before it measures), so the three differ only in how they reach the database.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC
from urllib.parse import parse_qs, urlencode

import boto3

DEFAULT_LIMIT = 50  # the site leaves a default limit out of its links

# What Django sends for the site's first page (selectors.PUBLIC_FIELDS, (name, id) order).
SQL = (
    "SELECT `employees_employee`.`id`, `employees_employee`.`name`, "
    "`employees_employee`.`age`, `employees_employee`.`joined_at`, "
    "`employees_employee`.`email`, `employees_employee`.`department_id`, "
    "`employees_department`.`name` "
    "FROM `employees_employee` LEFT OUTER JOIN `employees_department` "
    "ON (`employees_employee`.`department_id` = `employees_department`.`id`) "
    "ORDER BY `employees_employee`.`name` ASC, `employees_employee`.`id` ASC LIMIT %s"
)


def settings() -> dict:
    """Where the reader is and which secret holds its credentials (read once, at import)."""
    return {
        "host": os.environ["DB_READER_HOST"],
        "port": int(os.environ["DB_READER_PORT"]),
        "database": os.environ["DB_NAME"],
        "secret_id": os.environ["DB_SECRET_ID"],
        "region": os.environ["AWS_REGION"],
    }


def secrets_client(region: str):
    return boto3.client("secretsmanager", region_name=region)


def fetch_credentials(client, secret_id: str) -> tuple[str, str]:
    value = json.loads(client.get_secret_value(SecretId=secret_id)["SecretString"])
    return value["username"], value["password"]


def limit_of(environ: dict) -> int | None:
    """The ``limit`` parameter (1-200, default 50); None when it is not a valid one."""
    values = parse_qs(environ.get("QUERY_STRING", "")).get("limit", ["50"])
    raw = values[0]
    if len(values) != 1 or not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 200:
        return None
    return int(raw)


def body(environ: dict, rows: list[tuple], limit: int) -> bytes:
    """The site's JSON for the first page: the rows and the absolute ``next`` link."""
    has_more = len(rows) > limit
    rows = rows[:limit]
    results = [
        {
            "id": row[0],
            "name": row[1],
            "age": row[2],
            "joined_at": row[3].replace(tzinfo=UTC).isoformat(),
            "email": row[4],
            "department": None if row[5] is None else {"id": row[5], "name": row[6]},
        }
        for row in rows
    ]
    next_link = None
    if has_more:
        scheme = environ.get("wsgi.url_scheme", "http")
        host = environ.get("HTTP_HOST") or environ["SERVER_NAME"]
        query = {"cursor": cursor(rows[-1][1], rows[-1][0])}
        if limit != DEFAULT_LIMIT:
            query["limit"] = limit
        next_link = f"{scheme}://{host}{environ['PATH_INFO']}?{urlencode(query)}"
    return json.dumps({"results": results, "next": next_link, "previous": None}).encode()


def cursor(name: str, pk: int) -> str:
    """The site's opaque cursor (employees/cursors.py) for the page after (name, pk)."""
    data = json.dumps([name, pk, "n"], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def respond(start_response, status: str, payload: bytes) -> list[bytes]:
    start_response(
        status,
        [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
    )
    return [payload]


def bad_request(start_response) -> list[bytes]:
    message = {"error": {"message": "limit must be an integer from 1 to 200"}}
    return respond(start_response, "400 Bad Request", json.dumps(message).encode())
