"""Events of a root stack and all its nested stacks, merged in time order, and the root cause.

CloudFormation reports a nested stack's resources only in that stack's own event log; the parent
shows a cascade ("Embedded stack ... was not successfully created") and the console lists it
first. The watcher follows every nested stack it discovers (a parent's nested-stack resource names
the child's stack ID) and merges their events, so the first real failure can be found wherever it
happened.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from .retry import Retrying

STACK_TYPE = "AWS::CloudFormation::Stack"
# Statuses of an operation starting on the stack itself (not a rollback of one).
OPERATION_STARTS = frozenset(
    {"CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "DELETE_IN_PROGRESS", "IMPORT_IN_PROGRESS"}
)
DONE_STATUSES = frozenset(
    {"CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE", "DELETE_SKIPPED", "IMPORT_COMPLETE"}
)
# Failures caused by another failure: cancellations of resources in flight, a parent's summary of
# a nested stack, a stack's list of failed resources.
_CASCADE = re.compile(
    r"Resource (creation|update|deletion) cancelled"
    r"|Embedded stack .* was not successfully"
    r"|The following resource\(s\) failed to"
    r"|cancelled|canceled",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Event:
    """One stack event, with the path of the stack it belongs to (``root/NetworkStack``)."""

    id: str
    timestamp: datetime
    stack_id: str
    stack_name: str
    stack_path: str
    logical_id: str
    physical_id: str
    resource_type: str
    status: str
    reason: str

    @property
    def is_stack_itself(self) -> bool:
        return self.resource_type == STACK_TYPE and self.logical_id == self.stack_name

    @property
    def failed(self) -> bool:
        return self.status.endswith("_FAILED")

    @property
    def is_cascade(self) -> bool:
        return bool(_CASCADE.search(self.reason))

    def line(self) -> str:
        where = self.stack_path if self.is_stack_itself else f"{self.stack_path}/{self.logical_id}"
        # Date and zone: an operation crosses midnight, and operators read logs from elsewhere.
        when = self.timestamp.astimezone(UTC) if self.timestamp.tzinfo else self.timestamp
        text = f"{when:%Y-%m-%dT%H:%M:%SZ}  {self.status:<28} {where}  ({self.resource_type})"
        return f"{text}  {self.reason}" if self.reason else text


def root_cause(events: Iterable[Event]) -> Event | None:
    """The first failed resource that is not a cascade or a cancellation.

    Falls back to the first failure of any kind (a stack-level reason), then to None.
    """
    failed = [event for event in sorted(events, key=_order) if event.failed]
    for event in failed:
        if not event.is_cascade and not event.is_stack_itself:
            return event
    return failed[0] if failed else None


def operation_before_last(events: Iterable[Event]) -> list[Event]:
    """The events of the root stack's operation before its last one: for a deleted stack, what
    happened before the deletion (not the oldest failure of its whole history)."""
    ordered = sorted(events, key=_order)
    starts = [
        event.timestamp
        for event in ordered
        if event.is_stack_itself
        and "/" not in event.stack_path
        and event.status in OPERATION_STARTS
    ]
    if not starts:
        return []
    begin = starts[-2] if len(starts) > 1 else ordered[0].timestamp
    return [event for event in ordered if begin <= event.timestamp < starts[-1]]


def describe_cause(event: Event | None) -> str:
    if event is None:
        return "No failed resource event was recorded (see the events above)."
    return (
        "Root cause:\n"
        f"  stack:    {event.stack_path} ({event.stack_id})\n"
        f"  resource: {event.logical_id} ({event.resource_type})\n"
        f"  status:   {event.status}\n"
        f"  reason:   {event.reason or '(none given)'}"
    )


def _order(event: Event) -> tuple[datetime, str]:
    return (event.timestamp, event.stack_path)


class EventWatcher:
    """Collects new events of a root stack and its nested stacks; each call to ``poll``
    returns the events not returned before, oldest first.

    ``after_event_id``: the root's newest event before this operation (its events up to that one
    are history). Nested stacks' events older than the operation's first root event are skipped.
    """

    def __init__(
        self,
        cloudformation: Any,
        stack_id: str,
        stack_name: str,
        *,
        retry: Retrying,
        after_event_id: str | None = None,
        whole_history: bool = False,
    ):
        self.cloudformation = cloudformation
        self.retry = retry
        self.root_id = stack_id
        self.paths: dict[str, str] = {stack_id: stack_name}
        self.seen: set[str] = set()
        self.after_event_id = after_event_id
        self.whole_history = whole_history
        self.since: datetime | None = None
        self.events: list[Event] = []

    def poll(self) -> list[Event]:
        new: list[Event] = []
        index = 0
        while index < len(self.paths):  # the dict grows as nested stacks are found
            stack_id = list(self.paths)[index]
            new.extend(self._new_events(stack_id))
            index += 1
        new.sort(key=_order)
        self.events.extend(new)
        return new

    def sweep(self) -> list[Event]:
        """Find nested stacks from the resource lists too (some APIs log no resource events)."""
        index = 0
        while index < len(self.paths):
            stack_id = list(self.paths)[index]
            for resource in self._stack_resources(stack_id):
                child = resource.get("PhysicalResourceId")
                if resource.get("ResourceType") == STACK_TYPE and child and child != stack_id:
                    self.paths.setdefault(
                        child, f"{self.paths[stack_id]}/{resource['LogicalResourceId']}"
                    )
            index += 1
        return self.poll()

    def _stack_resources(self, stack_id: str) -> list[dict[str, Any]]:
        resources: list[dict[str, Any]] = []
        token = None
        try:
            while True:
                page = self.retry(
                    self.cloudformation.list_stack_resources,
                    StackName=stack_id,
                    **({"NextToken": token} if token else {}),
                )
                resources.extend(page.get("StackResourceSummaries", []))
                token = page.get("NextToken")
                if not token:
                    return resources
        except (ClientError, ResponseParserError):
            # A deleted stack (its events still tell what happened), or a stack the API failed.
            return resources

    def _new_events(self, stack_id: str) -> list[Event]:
        is_root = stack_id == self.root_id
        found: list[Event] = []
        token = None
        while True:
            page = self.retry(
                self.cloudformation.describe_stack_events,
                StackName=stack_id,
                **({"NextToken": token} if token else {}),
            )
            stop = False
            for raw in page.get("StackEvents", []):  # newest first
                if raw["EventId"] in self.seen:
                    stop = True
                    break
                if is_root and raw["EventId"] == self.after_event_id:
                    stop = True
                    break
                if not is_root and self.since and raw["Timestamp"] < self.since:
                    stop = True
                    break
                found.append(self._event(stack_id, raw))
            token = page.get("NextToken")
            if stop or not token:
                break
        found.reverse()
        if is_root and not self.whole_history and self.after_event_id is None:
            found = _last_operation(found)
        for event in found:
            self.seen.add(event.id)
            if is_root and self.since is None:
                self.since = event.timestamp
            if (
                event.resource_type == STACK_TYPE
                and event.physical_id.startswith("arn:")
                and not event.is_stack_itself
                and event.physical_id not in self.paths
            ):
                self.paths[event.physical_id] = f"{self.paths[stack_id]}/{event.logical_id}"
        return found

    def _event(self, stack_id: str, raw: dict[str, Any]) -> Event:
        return Event(
            id=raw["EventId"],
            timestamp=raw["Timestamp"],
            stack_id=stack_id,
            stack_name=raw.get("StackName", ""),
            stack_path=self.paths[stack_id],
            logical_id=raw.get("LogicalResourceId", ""),
            physical_id=raw.get("PhysicalResourceId", "") or "",
            resource_type=raw.get("ResourceType", ""),
            status=raw.get("ResourceStatus", ""),
            reason=raw.get("ResourceStatusReason", "") or "",
        )


def _last_operation(events: list[Event]) -> list[Event]:
    """Events from the start of the stack's latest operation (oldest first in, oldest first out)."""
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.is_stack_itself and event.status in OPERATION_STARTS:
            return events[index:]
    return events


class Progress:
    """Resources done of total, from the events seen so far."""

    def __init__(self, expected: int = 0):
        self.expected = expected
        self.latest: dict[tuple[str, str], str] = {}

    def add(self, events: Iterable[Event]) -> None:
        for event in events:
            if not event.is_stack_itself:
                self.latest[(event.stack_id, event.logical_id)] = event.status

    @property
    def done(self) -> int:
        return sum(1 for status in list(self.latest.values()) if status in DONE_STATUSES)

    @property
    def total(self) -> int:
        return max(self.expected, len(self.latest))

    def line(self) -> str:
        return f"[{self.done}/{self.total} resources done]"
