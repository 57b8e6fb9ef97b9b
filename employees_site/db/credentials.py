"""Database credentials from Secrets Manager, fetched lazily and cached in the process.

Each secret id (the runtime user's, and later a migrate user's) has its own state. The secret is
JSON with ``username`` and ``password``, read at the first connect, never at import, and kept until
a connect fails with 1045 (access denied), which is how a rotation shows itself: open connections
keep working while new ones are refused. Then :func:`refresh` reads it afresh, so the request that
hit the error retries within milliseconds.

What Secrets Manager costs is bounded, whatever the load or the fault:

- One fetch per secret and stage at a time, in a thread of its own: the threads that need it wait
  on that fetch (never on a process-wide lock held across a network call), and each waits at most
  ``FETCH_DEADLINE`` seconds from the fetch's start. A fetch that outlives it (a Secrets Manager
  that accepts and never answers) goes on in the background, bounded by boto3's own timeouts;
  requests meanwhile fail at once, so a worker's threads (and ``/healthz``) are never held.
- A failure is remembered: a secret that could not be read, or whose value the server refused,
  is not fetched again before a backoff that starts at ``BACKOFF_FIRST`` and doubles up to
  ``BACKOFF_MAX``; a successful read or connect resets it. A rotation (the password changed and
  the secret then updated) is therefore picked up within the first window, about a second.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from .. import aws

logger = logging.getLogger(__name__)

FETCH_DEADLINE = 3.0  # seconds a request waits for Secrets Manager
BACKOFF_FIRST = 1.0  # seconds before a failed or refused secret is read again ...
BACKOFF_MAX = 60.0  # ... doubling up to this


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:  # never let a password reach a log or a traceback
        return f"Credentials(username={self.username!r}, password=***)"


class CredentialsError(ImproperlyConfigured):
    """The secret could not be read or does not hold a username and a password."""


class _Fetch:
    """One GetSecretValue in flight, in its own thread; waiters share its outcome."""

    def __init__(self, secret_id: str, region: str | None, stage: str, on_done):
        self.started = time.monotonic()
        self.done = threading.Event()
        self.value: Credentials | None = None
        self.error: CredentialsError | None = None
        self._args = (secret_id, region, stage)
        self._on_done = on_done
        threading.Thread(target=self._run, name=f"secret-fetch {stage}", daemon=True).start()

    def _run(self) -> None:
        try:
            self.value = _fetch(*self._args)
        except CredentialsError as error:
            self.error = error
        except Exception as error:  # a waiter must get an answer, whatever broke
            self.error = CredentialsError(f"database credentials: {error.__class__.__name__}")
        self._on_done(self)
        self.done.set()

    def wait(self) -> Credentials:
        secret_id, _, stage = self._args
        left = self.started + FETCH_DEADLINE - time.monotonic()
        if not self.done.wait(max(0.0, left)):
            raise CredentialsError(
                f"Secrets Manager has not answered for secret {secret_id!r} ({stage}) in "
                f"{FETCH_DEADLINE:g}s. Check the network path to the Secrets Manager endpoint "
                f"(NAT or VPC endpoint) and AWS_REGION."
            )
        if self.error is not None:
            raise self.error
        return self.value


@dataclass
class _State:
    """What this process knows about one secret id."""

    credentials: Credentials | None = None  # AWSCURRENT as last read (or AWSPENDING that worked)
    fetch: _Fetch | None = None  # the AWSCURRENT read in flight
    failure: CredentialsError | None = None  # why the last read or connect failed
    retry_at: float = 0.0  # no new read before this (monotonic)
    delay: float = 0.0  # the current backoff

    def back_off(self, failure: CredentialsError, now: float) -> None:
        self.failure = failure
        self.delay = min(BACKOFF_MAX, max(BACKOFF_FIRST, self.delay * 2))
        self.retry_at = now + self.delay

    def reset(self) -> None:
        self.failure, self.retry_at, self.delay = None, 0.0, 0.0


_states: dict[str, _State] = {}
_pending: dict[str, _Fetch] = {}  # AWSPENDING reads in flight, by secret id
# Guards the two dicts only: held for dictionary work, never across a network call.
_lock = threading.Lock()


def get(secret_id: str, *, region: str | None = None) -> Credentials:
    """The cached credentials of ``secret_id``, fetched on first use."""
    state = _states.get(secret_id)
    if state is not None and state.credentials is not None:
        return state.credentials
    return _read(secret_id, region, unless=None)


def refresh(secret_id: str, *, region: str | None = None, refused: Credentials) -> Credentials:
    """AWSCURRENT read afresh because ``refused`` was denied (1045), unless another thread
    already replaced it: then that value, without another call. Within the backoff of an earlier
    failure, that failure again (a CredentialsError), without a call."""
    return _read(secret_id, region, unless=refused)


def _read(secret_id: str, region: str | None, *, unless: Credentials | None) -> Credentials:
    with _lock:
        state = _states.setdefault(secret_id, _State())
        cached = state.credentials
        if cached is not None and cached != unless:
            return cached
        fetch = state.fetch
        if fetch is None:
            now = time.monotonic()
            if state.failure is not None and now < state.retry_at:
                raise CredentialsError(
                    f"{state.failure} (tried again in {state.retry_at - now:.0f}s)"
                )

            def settle(done: _Fetch) -> None:
                with _lock:
                    state.fetch = None
                    if done.error is not None:
                        state.back_off(done.error, time.monotonic())
                        return
                    state.credentials = done.value
                    # The value the server refused, read again, is no success: the backoff
                    # keeps growing until a new value arrives or a connect works (remember).
                    if done.value != unless:
                        state.reset()

            fetch = state.fetch = _Fetch(secret_id, region, "AWSCURRENT", settle)
    return fetch.wait()


def read(secret_id: str, *, region: str | None = None, stage: str = "AWSCURRENT") -> Credentials:
    """``stage`` read now, past the cache and without the request deadline (boto3's own
    timeouts bound it): for commands, which change the password or run once at boot."""
    return _fetch(secret_id, region, stage)


def preload(secret_id: str, *, region: str | None = None) -> Credentials:
    """AWSCURRENT read now without the request deadline, and cached for the connections: a
    command at boot (migrate) waits for a cold client rather than fail after FETCH_DEADLINE."""
    found = read(secret_id, region=region)
    remember(secret_id, found)
    return found


def pending(secret_id: str, *, region: str | None = None) -> Credentials:
    """AWSPENDING, which exists only while a rotation is in progress (else CredentialsError).
    Threads that ask together share one read."""
    with _lock:
        fetch = _pending.get(secret_id)
        if fetch is None:

            def settle(done: _Fetch) -> None:
                with _lock:
                    _pending.pop(secret_id, None)

            fetch = _pending[secret_id] = _Fetch(secret_id, region, "AWSPENDING", settle)
    return fetch.wait()


def remember(secret_id: str, credentials: Credentials) -> None:
    """Use ``credentials`` for ``secret_id`` from now on: they connected (a refreshed
    AWSCURRENT, or AWSPENDING during a rotation). Ends any backoff."""
    with _lock:
        state = _states.setdefault(secret_id, _State())
        state.credentials = credentials
        state.reset()


def refused(secret_id: str, error: str) -> None:
    """The server refused every value the secret offered: not read again before the backoff."""
    with _lock:
        state = _states.setdefault(secret_id, _State())
        state.back_off(CredentialsError(error), time.monotonic())


def clear() -> None:
    """Forget every cached secret and failure (tests, and a process that wants a clean start)."""
    with _lock:
        _states.clear()
        _pending.clear()


def _after_fork() -> None:
    # A fetch thread of the parent does not exist in the child: start from nothing.
    global _lock
    _lock = threading.Lock()
    _states.clear()
    _pending.clear()


os.register_at_fork(after_in_child=_after_fork)


def _fetch(secret_id: str, region: str | None, stage: str) -> Credentials:
    try:
        value = json.loads(aws.secret_string(secret_id, region=region, stage=stage))
        credentials = Credentials(username=str(value["username"]), password=str(value["password"]))
    except aws.SecretError as error:
        raise CredentialsError(f"database credentials: {error}") from None
    except (KeyError, TypeError, ValueError):
        raise CredentialsError(
            f"database secret {secret_id!r} ({stage}) is not JSON with 'username' and 'password'"
        ) from None
    logger.info("read database credentials from %s (%s)", secret_id, stage)
    return credentials
