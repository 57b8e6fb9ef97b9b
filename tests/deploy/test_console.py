"""The terminal display: event lines, and progress during every wait (live on a terminal, a
heartbeat line elsewhere)."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta

from deploy.console import Console
from deploy.events import Event, Progress

T0 = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def make(logical: str, status: str, stack: str = "web", second: int = 0) -> Event:
    kind = "AWS::CloudFormation::Stack" if logical == stack.split("/")[-1] else "AWS::EC2::VPC"
    when = T0 + timedelta(seconds=second)
    name = stack.split("/")[-1]
    return Event(f"{logical}{status}", when, "id", name, stack, logical, "", kind, status, "")


def test_plain_output_has_event_lines_with_date_and_zone():
    """Piped to a file or CI log, events are plain lines with their UTC date and time."""
    stream = io.StringIO()
    console = Console(stream, Progress(expected=3))
    console.events([make("Vpc", "CREATE_COMPLETE")])
    assert stream.getvalue() == (
        "2026-01-05T09:00:00Z  CREATE_COMPLETE              web/Vpc  (AWS::EC2::VPC)\n"
    )


def test_a_wait_without_a_terminal_prints_a_heartbeat():
    """Without a terminal, a long wait prints "... still <what> (elapsed)" every heartbeat."""
    stream = io.StringIO()
    console = Console(stream, heartbeat=0.05)
    with console.waiting("creating change set deploy-1"):
        time.sleep(0.3)
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 2
    assert all(line.startswith("... still creating change set deploy-1 (0m0") for line in lines)
    count = len(lines)
    time.sleep(0.15)
    assert len(stream.getvalue().splitlines()) == count  # it stops with the wait


def test_the_operation_heartbeat_names_what_is_in_progress_and_for_how_long():
    """During a stack operation the heartbeat lists nested stacks and resources in progress,
    each with its elapsed time, and the resources done."""
    stream = io.StringIO()
    console = Console(
        stream, Progress(expected=3), heartbeat=0.05, now=lambda: T0 + timedelta(minutes=10)
    )
    with console.waiting("create of web", operation=True):
        console.events([
            make("web", "CREATE_IN_PROGRESS"),
            make("Db", "CREATE_IN_PROGRESS", "web/Db", 5),
            make("Cluster", "CREATE_IN_PROGRESS", "web/Db", 60),
            make("Vpc", "CREATE_IN_PROGRESS", "web", 2),
            make("Vpc", "CREATE_COMPLETE", "web", 30),
        ])  # fmt: skip
        time.sleep(0.2)
    beat = [line for line in stream.getvalue().splitlines() if line.startswith("... still")][-1]
    assert beat.startswith("... still create of web (0m00s) [1/3 resources done]; in progress: ")
    assert "web CREATE_IN_PROGRESS 10m00s" in beat
    assert "web/Db CREATE_IN_PROGRESS 9m55s" in beat
    assert "web/Db/Cluster CREATE_IN_PROGRESS 9m00s" in beat
    assert "Vpc" not in beat  # done


def test_a_terminal_gets_a_live_table_of_what_is_in_progress():
    """On a terminal the wait is a live display: spinner, elapsed time, one row per nested
    stack and resource in progress with its elapsed time; event lines print above it."""
    stream = Terminal()
    console = Console(stream, Progress(expected=2), now=lambda: T0 + timedelta(minutes=3))
    with console.waiting("update of web", operation=True):
        console.events([make("web", "UPDATE_IN_PROGRESS"), make("Vpc", "UPDATE_IN_PROGRESS")])
        time.sleep(0.6)  # a few refreshes of the display
    text = stream.getvalue()
    assert "update of web (0m00s)" in text
    assert "in progress" in text and "elapsed" in text
    assert "web/Vpc" in text and "3m00s" in text
    assert "[0/2 resources done]" in text
    assert "2026-01-05T09:00:00Z  UPDATE_IN_PROGRESS" in text
