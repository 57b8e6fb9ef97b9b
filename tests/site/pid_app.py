"""A WSGI app for the worker drills: answers with its process id.

``?sleep=SECONDS`` holds the thread that long (at most 5 s); ``&started=NAME`` first creates the
file NAME in the directory of ``PID_APP_DIR``, so a test knows the request is being served.
"""

import os
import time
from pathlib import Path
from urllib.parse import parse_qs


def application(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))
    started = query.get("started", [""])[0]
    if started.isalnum():
        (Path(os.environ["PID_APP_DIR"]) / started).touch()
    time.sleep(min(float(query.get("sleep", ["0"])[0]), 5.0))
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
