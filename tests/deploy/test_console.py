"""The terminal display: event lines, with a progress line kept at the bottom on a terminal."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from deploy.console import Console
from deploy.events import Event, Progress

T0 = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def make(logical: str, status: str, stack: str = "web") -> Event:
    kind = "AWS::CloudFormation::Stack" if logical == stack else "AWS::EC2::VPC"
    return Event(f"{logical}{status}", T0, "id", stack, stack, logical, "", kind, status, "")


def test_terminal_shows_resources_done_of_total():
    """On a terminal the last line is "[done/total resources done]", rewritten in place."""
    stream = Terminal()
    console = Console(stream, Progress(expected=3))
    console.events([make("web", "CREATE_IN_PROGRESS"), make("Vpc", "CREATE_IN_PROGRESS")])
    console.events([make("Vpc", "CREATE_COMPLETE")])
    text = stream.getvalue()
    assert text.endswith("[1/3 resources done]")
    assert "[0/3 resources done]\r\x1b[K2026-01-05T09:00:00Z  CREATE_COMPLETE" in text


def test_plain_output_has_no_progress_line():
    """Piped to a file or CI log, only plain event lines are written."""
    stream = io.StringIO()
    console = Console(stream, Progress(expected=3))
    console.events([make("Vpc", "CREATE_COMPLETE")])
    assert stream.getvalue() == (
        "2026-01-05T09:00:00Z  CREATE_COMPLETE              web/Vpc  (AWS::EC2::VPC)\n"
    )
