"""Which database serves a query: the state the router reads.

Per request (a ``ContextVar``, so safe under threads and async): whether this client's pin cookie
was valid, whether a write has run, which aliases were used. Per process: whether the reader is
reachable. Outside a request (a management command, a shell) there is no such state: reads go to
the writer only inside a transaction or ``use_writer()``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass, field

from django.db import connections

from .errors import cause

logger = logging.getLogger(__name__)

WRITER = "default"
READER = "reader"


@dataclass
class RequestState:
    pinned: bool = False  # the client wrote recently (a valid pin cookie)
    wrote: bool = False  # a write ran in this request
    used: set[str] = field(default_factory=set)  # aliases that ran a query


_state: ContextVar[RequestState | None] = ContextVar("employees_db_state", default=None)
_force_writer: ContextVar[bool] = ContextVar("employees_db_force_writer", default=False)


def begin_request(*, pinned: bool) -> tuple[RequestState, Token]:
    state = RequestState(pinned=pinned)
    return state, _state.set(state)


def end_request(token: Token) -> None:
    _state.reset(token)


def writer_required() -> bool:
    """Reads must see the writer: forced, pinned, after a write, or inside a writer transaction."""
    if _force_writer.get():
        return True
    state = _state.get()
    if state is not None and (state.pinned or state.wrote):
        return True
    return connections[WRITER].in_atomic_block


@contextlib.contextmanager
def use_writer() -> Iterator[None]:
    """Send every read in the block (or the decorated function) to the writer."""
    token = _force_writer.set(True)
    try:
        yield
    finally:
        _force_writer.reset(token)


# Statements that never change data; anything else on the writer counts as a write.
_READ_ONLY = ("SELECT", "SHOW", "SET", "SAVEPOINT", "RELEASE", "ROLLBACK", "EXPLAIN", "DESCRIBE")


class QueryTracker:
    """An execute wrapper that records the alias used and, on the writer, any write."""

    def __init__(self, alias: str):
        self.alias = alias

    def __call__(self, execute, sql, params, many, context):
        state = _state.get()
        if state is None:  # outside a request: nothing to pin or to log
            return execute(sql, params, many, context)
        state.used.add(self.alias)
        if self.alias == WRITER and not state.wrote:
            head = sql.lstrip(" (\n\t")[:9].upper()
            if not head.startswith(_READ_ONLY):
                state.wrote = True
        return execute(sql, params, many, context)


def install_tracker(sender, connection, **kwargs) -> None:
    """connection_created receiver: track queries on the writer and the reader."""
    # The wrapper list belongs to the alias's DatabaseWrapper and outlives reconnects.
    wrappers = connection.execute_wrappers
    if connection.alias in (WRITER, READER) and not any(
        isinstance(wrapper, QueryTracker) for wrapper in wrappers
    ):
        wrappers.append(QueryTracker(connection.alias))


class ReaderHealth:
    """Whether reads may go to the reader; each change of state is logged once."""

    def __init__(self) -> None:
        self._down_until: float | None = None
        self._lock = threading.Lock()

    def usable(self) -> bool:
        down_until = self._down_until
        return down_until is None or time.monotonic() >= down_until

    def failed(self, error: Exception, cooldown: float) -> None:
        with self._lock:
            was_up = self._down_until is None
            self._down_until = time.monotonic() + cooldown
        if was_up:
            logger.warning(
                "reader unreachable (%s); reads go to the writer, next try in %ss",
                cause(error),
                cooldown,
            )

    def succeeded(self) -> None:
        if self._down_until is None:
            return
        with self._lock:
            was_down, self._down_until = self._down_until is not None, None
        if was_down:
            logger.warning("reader reachable again; reads return to it")


def describe_error(error: Exception) -> str:
    """The error's class and, for a database error, its code: never a message or a host."""
    code = error.args[0] if error.args and isinstance(error.args[0], int) else None
    return f"{error.__class__.__name__} {code}" if code else error.__class__.__name__


reader_health = ReaderHealth()
