"""JSON log lines on stdout, each carrying the request id; one access line per request.

The request id is the ALB's ``X-Amzn-Trace-Id`` when present (so a line can be matched with the
ALB's access log and X-Ray), else a new random id.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

_request_id: ContextVar[str | None] = ContextVar("employees_request_id", default=None)
access_log = logging.getLogger("employees_site.requests")

# "Root=1-67891233-abcdef012345678912345678;Parent=...;Sampled=1", at most a few hundred chars.
_TRACE_ID = re.compile(r"^[A-Za-z0-9=;:.\-]{1,256}$")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


class OneLineWarning(logging.Filter):
    """Turns a record into a warning without its traceback: for expected, client-caused errors
    (a foreign Host header) that Django logs as errors with the exception attached."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info = record.exc_text = record.stack_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and any extras."""

    EXTRAS = ("method", "path", "status", "duration_ms", "db", "cause", "user_agent")

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key in self.EXTRAS:
            if hasattr(record, key):
                line[key] = getattr(record, key)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


JsonFormatter.converter = time.gmtime


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        trace = request.headers.get("X-Amzn-Trace-Id", "")
        request.request_id = trace if _TRACE_ID.match(trace) else uuid.uuid4().hex
        token = _request_id.set(request.request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            extra = {
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "db": getattr(request, "db_aliases", []),
                "user_agent": request.headers.get("User-Agent", "")[:200],
            }
            if hasattr(request, "db_cause"):  # why the database answered 503 (db.middleware)
                extra["cause"] = request.db_cause
            access_log.info(
                "%s %s %s", request.method, request.path, response.status_code, extra=extra
            )
            response["X-Request-Id"] = request.request_id
            return response
        finally:
            _request_id.reset(token)
