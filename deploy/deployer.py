"""The Deployer: change sets, execution and waiting, with the CloudFormation client it is given.

Modelled on the awscli deployer: always a change set (so the operator sees what will happen),
``REVIEW_IN_PROGRESS`` counts as no stack yet, and an empty change set is a result, not an error.
Nothing here prints: progress reaches the caller through the ``on_events`` callback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from . import changesets
from .events import Event, EventWatcher, describe_cause, root_cause
from .exceptions import (
    ChangeSetDenied,
    ChangeSetFailed,
    ChangeSetLimitExceeded,
    ChangeSetWrongState,
    StackBusy,
    StackDeleteFailed,
    StackFailed,
    StackImportRollbackFailed,
    StackInRollbackComplete,
    StackNeedsRollbackFix,
    StackRollbackFailed,
)
from .retry import DENIED_CODES, Retrying, error_code

logger = logging.getLogger(__name__)

# Capabilities a nested stack with IAM resources and macros needs; the preview shows what they do.
# CloudFormation computes even large nested change sets in a few minutes; past this, give up.
CHANGE_SET_TIMEOUT_SECONDS = 30 * 60
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
# StatusReason of a change set with nothing to do (both wordings occur).
_NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
SUCCESS = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE", "DELETE_COMPLETE"})
# What a failed first create leaves (CreateChangeSet's OnStackFailure), by `--on-failure` choice.
# DO_NOTHING keeps the stack in CREATE_FAILED with what was created, so a fix is an update and
# the failed resources stay there to inspect; ROLLBACK and DELETE throw the work away.
ON_FAILURE = {"do-nothing": "DO_NOTHING", "rollback": "ROLLBACK", "delete": "DELETE"}
# Stack states that take no change set, and the error that says what to do instead.
_REFUSED = {
    "ROLLBACK_COMPLETE": StackInRollbackComplete,
    "ROLLBACK_FAILED": StackRollbackFailed,
    "DELETE_FAILED": StackDeleteFailed,
    "UPDATE_ROLLBACK_FAILED": StackNeedsRollbackFix,
    "IMPORT_ROLLBACK_FAILED": StackImportRollbackFailed,
}
# CreateChangeSet's error codes that are not about the template.
_LIMITS = frozenset({"LimitExceededException", "LimitExceeded"})
# A stack that changed state between our read and CreateChangeSet (ValidationError wordings:
# "... is in UPDATE_IN_PROGRESS state and can not be updated", "Stack [x] already exists and
# cannot be created again with the changeSet [y]").
_WRONG_STATE = ("state and can not be updated", "already exists and cannot be created")

EventCallback = Callable[[list[Event]], None]


@dataclass(frozen=True)
class ChangeSet:
    id: str
    stack_id: str
    stack_name: str
    type: str  # CREATE or UPDATE
    name: str = ""


@dataclass(frozen=True)
class Outcome:
    """How an operation ended: the stack's final status and every event seen."""

    status: str
    stack: dict[str, Any] | None
    events: list[Event]


class Deployer:
    def __init__(
        self,
        cloudformation: Any,
        *,
        retry: Retrying | None = None,
        poll_interval: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.cloudformation = cloudformation
        self.retry = retry or Retrying()
        self.poll_interval = poll_interval
        self.sleep = sleep

    # -- reading -------------------------------------------------------------------------------

    def stack(self, name_or_id: str) -> dict[str, Any] | None:
        """The stack's description, or None if there is none by that name or ID."""
        try:
            stacks = self.retry(self.cloudformation.describe_stacks, StackName=name_or_id)
        except ClientError as error:
            if "does not exist" in str(error):
                return None
            raise
        return stacks["Stacks"][0] if stacks.get("Stacks") else None

    def change_set_type(self, stack_name: str) -> tuple[str, dict[str, Any] | None]:
        """CREATE or UPDATE, and the existing stack; refuses stacks that cannot be updated."""
        stack = self.stack(stack_name)
        if stack is None or stack["StackStatus"] == "REVIEW_IN_PROGRESS":
            # A stack in review was made by a change set never executed: it has no resources,
            # and a CREATE change set is what it accepts (as in the awscli deployer).
            return "CREATE", stack
        status = stack["StackStatus"]
        if status in _REFUSED:
            raise _REFUSED[status](stack=stack_name)
        # CREATE_FAILED (a first create with OnStackFailure=DO_NOTHING) takes an UPDATE change
        # set: the resources that were created stay, the fixed template completes the stack.
        if status.endswith("_IN_PROGRESS"):
            raise StackBusy(stack=stack_name, status=status)
        return "UPDATE", stack

    def outputs(self, stack: Mapping[str, Any]) -> dict[str, str]:
        return {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs") or []}

    # -- change sets ---------------------------------------------------------------------------

    def create_change_set(
        self,
        stack_name: str,
        template_url: str,
        parameters: list[dict[str, Any]],
        change_set_type: str,
        tags: Mapping[str, str] | None = None,
        *,
        on_failure: str = "do-nothing",
        role_arn: str | None = None,
    ) -> ChangeSet | None:
        """Create the change set (with nested ones); None if there is nothing to change."""
        name = "deploy-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
        # Tags only when given: an empty Tags list tells CloudFormation to remove every tag of
        # the stack and its resources, which a plain re-run must not do.
        optional: dict[str, Any] = {}
        if tags:
            optional["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
        if change_set_type == "CREATE":
            # Only a CREATE change set takes it (CloudFormation refuses it on an UPDATE).
            optional["OnStackFailure"] = ON_FAILURE[on_failure]
        if role_arn:
            optional["RoleARN"] = role_arn
        try:
            answer = self.retry(
                self.cloudformation.create_change_set,
                StackName=stack_name,
                ChangeSetName=name,
                ChangeSetType=change_set_type,
                TemplateURL=template_url,
                Parameters=parameters,
                Capabilities=CAPABILITIES,
                IncludeNestedStacks=True,
                Description="Created by python -m deploy up",
                **optional,
            )
        except ClientError as error:
            if any(text in str(error) for text in _NO_CHANGES):
                return None
            raise _change_set_error(error, stack_name, role_arn) from error
        return ChangeSet(answer["Id"], answer["StackId"], stack_name, change_set_type, name)

    def wait_for_change_set(self, change_set: ChangeSet) -> changesets.ChangeSetTree | None:
        """Wait until the change set (and its nested ones) is ready; None if it is empty."""
        for _ in range(int(CHANGE_SET_TIMEOUT_SECONDS / max(self.poll_interval, 1.0))):
            tree = changesets.describe(
                self.cloudformation, change_set.id, change_set.stack_name, self.retry
            )
            if tree.status == "CREATE_COMPLETE":
                return changesets.judge(tree)
            if tree.status == "FAILED":
                if any(text in tree.reason for text in _NO_CHANGES):
                    self.delete_change_set(change_set)
                    return None
                reason = changesets.failure_reason(self.cloudformation, tree, self.retry)
                raise ChangeSetFailed(stack=change_set.stack_name, reason=reason)
            if tree.status not in ("CREATE_PENDING", "CREATE_IN_PROGRESS"):
                # DELETE_PENDING/_IN_PROGRESS/_COMPLETE/_FAILED: someone removed it meanwhile.
                raise ChangeSetFailed(
                    stack=change_set.stack_name, reason=f"the change set is {tree.status}"
                )
            self.sleep(self.poll_interval)
        raise ChangeSetFailed(
            stack=change_set.stack_name,
            reason=f"still not ready after {CHANGE_SET_TIMEOUT_SECONDS // 60} minutes",
        )

    def delete_change_set(self, change_set: ChangeSet) -> None:
        self.retry(self.cloudformation.delete_change_set, ChangeSetName=change_set.id)

    def delete_stack(self, stack_id: str) -> None:
        """Start deleting a stack without following it (an empty REVIEW_IN_PROGRESS one)."""
        self.retry(self.cloudformation.delete_stack, StackName=stack_id)

    # -- operations ----------------------------------------------------------------------------

    def execute(self, change_set: ChangeSet, on_events: EventCallback) -> Outcome:
        """Execute the change set and follow the stack until it settles; StackFailed on failure."""
        watcher = self._watcher(change_set.stack_id, change_set.stack_name)
        operation = "Creation" if change_set.type == "CREATE" else "Update"
        try:
            self.retry(self.cloudformation.execute_change_set, ChangeSetName=change_set.id)
        except (ClientError, ResponseParserError) as error:
            # Real CloudFormation executes asynchronously; an API that runs the change set in
            # the request (the local test API) reports a failing resource right here, or answers
            # with an error page when it cannot run the template at all.
            try:  # the diagnosis is best effort: the API just failed once
                on_events(watcher.sweep())
                stack = self.stack(change_set.stack_id)
            except (ClientError, ResponseParserError):
                stack = None
            status = stack["StackStatus"] if stack else "the change set did not run"
            if status == "REVIEW_IN_PROGRESS":
                status = "the change set did not run"
            cause = root_cause(watcher.events)
            text = f"CloudFormation answered: {_message(error)}"
            if cause is not None:
                text += "\n" + describe_cause(cause)
            raise StackFailed(
                operation=operation,
                stack=change_set.stack_name,
                status=status,
                cause=text,
                fix=_fix(change_set.stack_name, status),
            ) from error
        return self.follow(watcher, operation, on_events)

    def delete(self, stack: Mapping[str, Any], on_events: EventCallback) -> Outcome:
        watcher = self._watcher(stack["StackId"], stack["StackName"])
        self.retry(self.cloudformation.delete_stack, StackName=stack["StackId"])
        return self.follow(watcher, "Deletion", on_events)

    def follow(self, watcher: EventWatcher, operation: str, on_events: EventCallback) -> Outcome:
        """Stream events until the root stack leaves its IN_PROGRESS states."""
        while True:
            on_events(watcher.poll())
            stack = self.stack(watcher.root_id)
            status = stack["StackStatus"] if stack else "DELETE_COMPLETE"
            if not status.endswith("_IN_PROGRESS"):
                break
            self.sleep(self.poll_interval)
        on_events(watcher.sweep())
        if status not in SUCCESS:
            name = watcher.paths[watcher.root_id]
            raise StackFailed(
                operation=operation,
                stack=name,
                status=status,
                cause=describe_cause(root_cause(watcher.events)),
                fix=_fix(name, status),
            )
        return Outcome(status=status, stack=stack, events=watcher.events)

    def _watcher(self, stack_id: str, stack_name: str) -> EventWatcher:
        latest = self.retry(self.cloudformation.describe_stack_events, StackName=stack_id)
        events = latest.get("StackEvents") or []
        return EventWatcher(
            self.cloudformation,
            stack_id,
            stack_name,
            retry=self.retry,
            after_event_id=events[0]["EventId"] if events else "",
        )

    def history(self, stack_id: str, stack_name: str, *, everything: bool = False) -> EventWatcher:
        """A watcher primed with the stack's last operation (or whole history)."""
        watcher = EventWatcher(
            self.cloudformation, stack_id, stack_name, retry=self.retry, whole_history=everything
        )
        watcher.sweep()
        return watcher


def parameters(
    declared: Mapping[str, Mapping[str, Any]],
    given: Mapping[str, str],
    existing: Mapping[str, Any] | None,
) -> list[dict[str, Any]]:
    """The change set's parameters: the values given and, on an update, the previous values.

    As with ``aws cloudformation deploy``, a parameter not given keeps its previous value, so a
    re-run never resets a setting silently. A previous value equal to the template's default is
    left out instead: CloudFormation then applies the same default, and the call stays minimal.
    """
    previous = {}
    if existing and existing.get("StackStatus") != "REVIEW_IN_PROGRESS":
        previous = {
            p["ParameterKey"]: p.get("ParameterValue") for p in existing.get("Parameters") or []
        }
    result: list[dict[str, Any]] = []
    for name in sorted(declared):
        if name in given:
            result.append({"ParameterKey": name, "ParameterValue": given[name]})
        elif name in previous:
            default = declared[name].get("Default")
            if default is not None and str(default) == previous[name]:
                continue
            result.append({"ParameterKey": name, "UsePreviousValue": True})
    return result


def _fix(stack: str, status: str) -> str:
    if status == "CREATE_FAILED":
        return (
            "The stack keeps what was created (--on-failure do-nothing), so the failed resource "
            "can be inspected. Fix the cause and run `up` again: it updates the stack in place. "
            f"Or delete it with `python -m deploy down --stack-name {stack}`."
        )
    if status == "ROLLBACK_COMPLETE":
        return (
            f"Nothing was kept: the stack is ROLLBACK_COMPLETE. Fix the cause, delete it with "
            f"`python -m deploy down --stack-name {stack}`, then run `up` again."
        )
    if status == "UPDATE_ROLLBACK_COMPLETE":
        return "The stack was rolled back to its previous state. Fix the cause and run `up` again."
    if status.endswith("_FAILED"):
        return (
            f"The stack is {status} and may need attention in the console before the next "
            "operation. Fix the cause and run again."
        )
    return "Fix the cause and run again."


def _change_set_error(error: ClientError, stack: str, role_arn: str | None) -> Exception:
    """The CreateChangeSet error as the operator must act on it: permission, quota, state, or
    (only then) the template or parameters."""
    code = error_code(error)
    reason = _message(error)
    if code in DENIED_CODES or "not authorized to perform" in reason:
        return ChangeSetDenied(
            stack=stack,
            reason=reason,
            role=f" (or the role {role_arn})" if role_arn else "",
            pass_role=", and iam:PassRole on the --role-arn role" if role_arn else "",
        )
    if code in _LIMITS:
        return ChangeSetLimitExceeded(stack=stack, reason=reason)
    if code == "AlreadyExistsException" or any(text in reason for text in _WRONG_STATE):
        return ChangeSetWrongState(stack=stack, reason=reason)
    return ChangeSetFailed(stack=stack, reason=reason)


def _message(error: ClientError | ResponseParserError) -> str:
    if isinstance(error, ResponseParserError):
        return "an error page instead of an AWS response (HTTP 500?): the API could not run it"
    return error.response.get("Error", {}).get("Message") or str(error)
