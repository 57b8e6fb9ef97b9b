"""User-facing output, and progress during every wait.

Event lines are printed as they come. While the command waits (building the artifact, creating
the change set, the stack operation), the operator sees that it is alive: on a terminal a live
display, redrawn by rich a few times a second, with a spinner, the elapsed time and, during a
stack operation, a table of each nested stack and each resource in progress with its elapsed
time; elsewhere (CI logs, pipes) a plain line every ``heartbeat`` seconds saying what is still
running and for how long. Aurora's creation and the 20-minute signal wait never look frozen.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

from .events import STACK_TYPE, Event, Progress

HEARTBEAT_SECONDS = 30.0


class Activity:
    """What is in progress, from the events seen: stacks and resources, with when they started."""

    def __init__(self) -> None:
        self.stacks: dict[str, tuple[str, datetime]] = {}  # path -> status, since
        self.resources: dict[str, tuple[str, datetime]] = {}

    def add(self, events: list[Event]) -> None:
        for event in events:
            if event.is_stack_itself:
                previous = self.stacks.get(event.stack_path)
                # A stack's time runs from the start of its operation, not its last event.
                keep = previous and previous[0].endswith("_IN_PROGRESS")
                since = previous[1] if keep else event.timestamp
                self.stacks[event.stack_path] = (event.status, since)
                continue
            path = f"{event.stack_path}/{event.logical_id}"
            if event.status.endswith("_IN_PROGRESS") and event.resource_type != STACK_TYPE:
                self.resources.setdefault(path, (event.status, event.timestamp))
            else:
                self.resources.pop(path, None)

    def in_progress(self, now: datetime) -> list[tuple[str, str, str]]:
        """(path, status, elapsed) of what runs: nested stacks first, then resources.

        Called from the display's refresh thread while the main thread adds events: it reads
        copies (dict() of a dict is atomic under the GIL), never the dicts being changed.
        """
        stacks, resources = dict(self.stacks), dict(self.resources)
        rows = [
            (path, status, _elapsed(now - since))
            for path, (status, since) in stacks.items()
            if status.endswith("_IN_PROGRESS")
        ]
        rows += [
            (path, status, _elapsed(now - since))
            for path, (status, since) in sorted(resources.items(), key=lambda i: i[1][1])
        ]
        return rows


class Console:
    def __init__(
        self,
        stream: TextIO,
        progress: Progress | None = None,
        out: TextIO | None = None,
        *,
        heartbeat: float = HEARTBEAT_SECONDS,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.stream = stream
        self.out = out or stream
        self.tty = stream.isatty()
        self.progress = progress or Progress()
        self.activity = Activity()
        self.heartbeat = heartbeat
        self.now = now
        self._live: Any = None  # the rich Live display while one is shown
        self._lock = threading.Lock()

    def print(self, text: str = "") -> None:
        with self._lock:
            if self._live is not None:
                self._live.console.print(text, markup=False, highlight=False, soft_wrap=True)
            else:
                print(text, file=self.stream, flush=True)

    def result(self, text: str) -> None:
        """What the command produces (outputs, JSON): stdout even when the rest goes to stderr."""
        print(text, file=self.out, flush=True)

    def events(self, events: list[Event]) -> None:
        self.progress.add(events)
        self.activity.add(events)
        for event in events:
            self.print(event.line())

    @contextmanager
    def waiting(self, what: str, *, operation: bool = False) -> Iterator[None]:
        """Show that ``what`` is going on until the block ends: a live display on a terminal,
        else a line every ``heartbeat`` seconds. ``operation`` adds the stack operation's table
        (nested stacks and resources in progress, resources done)."""
        started = time.monotonic()
        if self.tty and _has_rich():
            with self._live_display(what, started, operation):
                yield
            return
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.heartbeat):
                self.print(self._still(what, started, operation))

        ticker = threading.Thread(target=beat, name="deploy-heartbeat", daemon=True)
        ticker.start()
        try:
            yield
        finally:
            stop.set()
            ticker.join()

    def _still(self, what: str, started: float, operation: bool) -> str:
        line = f"... still {what} ({_elapsed_seconds(time.monotonic() - started)})"
        if not operation:
            return line
        running = self.activity.in_progress(self.now())
        line += f" {self.progress.line()}"
        if running:
            shown = ", ".join(f"{path} {status} {elapsed}" for path, status, elapsed in running[:6])
            more = f" and {len(running) - 6} more" if len(running) > 6 else ""
            line += f"; in progress: {shown}{more}"
        return line

    @contextmanager
    def _live_display(self, what: str, started: float, operation: bool) -> Iterator[None]:
        from rich.console import Console as RichConsole
        from rich.console import Group
        from rich.live import Live
        from rich.spinner import Spinner
        from rich.table import Table

        console = self

        class Display:
            """Rebuilt at every refresh, so the elapsed times run on between polls."""

            def __rich__(self) -> Any:
                title = f"{what} ({_elapsed_seconds(time.monotonic() - started)})"
                spinner = Spinner("dots", text=title)
                if not operation:
                    return spinner
                table = Table(box=None, pad_edge=False, show_edge=False)
                table.add_column("in progress")
                table.add_column("status")
                table.add_column("elapsed", justify="right")
                for path, status, elapsed in console.activity.in_progress(console.now()):
                    table.add_row(path, status, elapsed)
                return Group(spinner, table, console.progress.line())

        rich_console = RichConsole(file=self.stream, force_terminal=True, highlight=False)
        with Live(Display(), console=rich_console, refresh_per_second=4, transient=True) as live:
            with self._lock:
                self._live = live
            try:
                yield
            finally:
                with self._lock:
                    self._live = None


def _has_rich() -> bool:
    """rich comes with the `deploy` extra; without it a terminal gets the plain heartbeat."""
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def _elapsed(delta) -> str:
    return _elapsed_seconds(delta.total_seconds())


def _elapsed_seconds(seconds: float) -> str:
    seconds = max(0, int(seconds))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}m{seconds:02d}s"
