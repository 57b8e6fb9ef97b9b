"""User-facing output: event lines, and on a terminal a progress line kept at the bottom."""

from __future__ import annotations

from typing import TextIO

from .events import Event, Progress


class Console:
    """User-facing output: event lines, and on a terminal a progress line kept at the bottom."""

    def __init__(self, stream: TextIO, progress: Progress | None = None, out: TextIO | None = None):
        self.stream = stream
        self.out = out or stream
        self.tty = stream.isatty()
        self.progress = progress or Progress()
        self._status_shown = False

    def print(self, text: str = "") -> None:
        self._clear_status()
        print(text, file=self.stream, flush=True)

    def result(self, text: str) -> None:
        """What the command produces (outputs, JSON): stdout even when the rest goes to stderr."""
        self._clear_status()
        print(text, file=self.out, flush=True)

    def events(self, events: list[Event]) -> None:
        self.progress.add(events)
        for event in events:
            self.print(event.line())
        if self.tty and events:
            self.stream.write(self.progress.line())
            self.stream.flush()
            self._status_shown = True

    def _clear_status(self) -> None:
        if self._status_shown:
            self.stream.write("\r\x1b[K")
            self._status_shown = False
