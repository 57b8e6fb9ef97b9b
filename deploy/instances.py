"""Day-2 operations on the stack's instances, with the clients they are given.

``manage`` runs a Django management command on one instance through Session Manager Run Command
(the ``AWS-RunShellScript`` document runs it as root; the bootstrap's ``employees-site-manage``
wrapper reads the instance's environment and drops to the service user). ``refresh`` starts an
Auto Scaling instance refresh (new instances from the launch template: a new AMI) and follows it.
The group is found among the resources of the root and nested stacks, so no output is needed.
"""

from __future__ import annotations

import logging
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from . import teardown
from .exceptions import (
    CommandDidNotFinish,
    InstanceNotInGroup,
    InstanceNotManaged,
    NoAutoScalingGroup,
    NoInstanceInService,
    RefreshFailed,
    RefreshInProgress,
)
from .retry import Retrying

logger = logging.getLogger(__name__)

GROUP_TYPE = "AWS::AutoScaling::AutoScalingGroup"
# Rendered on every instance by deploy/bootstrap/bootstrap.sh.
MANAGE = "/usr/local/bin/employees-site-manage"
DOCUMENT = "AWS-RunShellScript"
# GetCommandInvocation statuses that are final (the others: Pending, InProgress, Delayed,
# Cancelling).
COMMAND_DONE = frozenset({"Success", "Failed", "Cancelled", "TimedOut"})
REFRESH_DONE = frozenset(
    {"Successful", "Failed", "Cancelled", "RollbackSuccessful", "RollbackFailed"}
)
# Run Command keeps at most this much of each stream in GetCommandInvocation.
OUTPUT_LIMIT = 24000


@dataclass(frozen=True)
class Invocation:
    """How a command ended on one instance."""

    command_id: str
    instance_id: str
    status: str
    details: str
    code: int  # -1 when the command never ran (undeliverable, cancelled before start)
    stdout: str
    stderr: str


class Operator:
    def __init__(
        self,
        autoscaling: Any,
        ssm: Any,
        *,
        retry: Retrying | None = None,
        poll_interval: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.autoscaling = autoscaling
        self.ssm = ssm
        self.retry = retry or Retrying()
        self.poll_interval = poll_interval
        self.sleep = sleep

    # -- the group -----------------------------------------------------------------------------

    def group_name(self, cloudformation: Any, stack: dict[str, Any]) -> str:
        """The physical name of the stack's one Auto Scaling group (nested stacks included)."""
        found = [
            resource
            for resource in teardown.resources(
                cloudformation, stack["StackId"], stack["StackName"], self.retry
            )
            if resource.type == GROUP_TYPE and resource.physical_id
        ]
        if len(found) != 1:
            names = ", ".join(f"{r.stack_path}/{r.logical_id}" for r in found)
            raise NoAutoScalingGroup(
                stack=stack["StackName"], found=f" but {len(found)}: {names}" if found else ""
            )
        return found[0].physical_id

    def in_service(self, group: str) -> list[str]:
        """IDs of the group's InService, healthy instances, sorted."""
        answer = self.retry(
            self.autoscaling.describe_auto_scaling_groups, AutoScalingGroupNames=[group]
        )
        groups = answer.get("AutoScalingGroups") or [{"Instances": []}]
        return sorted(
            instance["InstanceId"]
            for instance in groups[0].get("Instances", [])
            if instance.get("LifecycleState") == "InService"
            and instance.get("HealthStatus") == "Healthy"
        )

    def pick(self, group: str, stack: str, instance_id: str | None) -> str:
        instances = self.in_service(group)
        if not instances:
            raise NoInstanceInService(group=group, stack=stack)
        if instance_id is None:
            return instances[0]
        if instance_id not in instances:
            raise InstanceNotInGroup(
                instance=instance_id, group=group, instances=", ".join(instances)
            )
        return instance_id

    # -- manage --------------------------------------------------------------------------------

    @staticmethod
    def manage_command(args: list[str]) -> str:
        return shlex.join([MANAGE, *args])

    def run(self, instance_id: str, args: list[str], timeout: int) -> Invocation:
        """Send the management command, wait for it to end on the instance, return its result."""
        command = self.manage_command(args)
        try:
            sent = self.retry(
                self.ssm.send_command,
                InstanceIds=[instance_id],
                DocumentName=DOCUMENT,
                Comment="python -m deploy manage",
                Parameters={"commands": [command], "executionTimeout": [str(timeout)]},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "InvalidInstanceId":
                reason = error.response["Error"].get("Message") or "not a managed instance."
                raise InstanceNotManaged(instance=instance_id, reason=reason) from error
            raise
        command_id = sent["Command"]["CommandId"]
        logger.info("sent %s to %s: %s", command_id, instance_id, command)
        # Run Command stops the script at `timeout`; past that plus delivery time, stop waiting.
        deadline = time.monotonic() + timeout + 120
        while True:
            answer = self._invocation(command_id, instance_id)
            if answer is not None and answer["Status"] in COMMAND_DONE:
                return Invocation(
                    command_id=command_id,
                    instance_id=instance_id,
                    status=answer["Status"],
                    details=answer.get("StatusDetails", ""),
                    code=int(answer.get("ResponseCode", -1)),
                    stdout=answer.get("StandardOutputContent", ""),
                    stderr=answer.get("StandardErrorContent", ""),
                )
            if time.monotonic() > deadline:
                raise CommandDidNotFinish(command_id=command_id, instance=instance_id, seconds=120)
            self.sleep(self.poll_interval)

    def _invocation(self, command_id: str, instance_id: str) -> dict[str, Any] | None:
        try:
            return self.retry(
                self.ssm.get_command_invocation, CommandId=command_id, InstanceId=instance_id
            )
        except ClientError as error:
            # Right after SendCommand the invocation may not exist yet.
            if error.response.get("Error", {}).get("Code") == "InvocationDoesNotExist":
                return None
            raise

    # -- refresh -------------------------------------------------------------------------------

    def start_refresh(self, group: str, preferences: dict[str, Any]) -> str:
        try:
            answer = self.retry(
                self.autoscaling.start_instance_refresh,
                AutoScalingGroupName=group,
                Strategy="Rolling",
                **({"Preferences": preferences} if preferences else {}),
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "InstanceRefreshInProgress":
                raise RefreshInProgress(group=group) from error
            raise
        return answer["InstanceRefreshId"]

    def follow_refresh(
        self, group: str, refresh_id: str, on_change: Callable[[dict[str, Any]], None]
    ) -> dict[str, Any]:
        """Poll until the refresh ends; ``on_change`` sees each new status or percentage.
        Returns the final description; raises RefreshFailed unless it succeeded."""
        seen: tuple[Any, ...] = ()
        while True:
            answer = self.retry(
                self.autoscaling.describe_instance_refreshes,
                AutoScalingGroupName=group,
                InstanceRefreshIds=[refresh_id],
            )
            refresh = answer["InstanceRefreshes"][0]
            state = (
                refresh["Status"],
                refresh.get("PercentageComplete"),
                refresh.get("InstancesToUpdate"),
            )
            if state != seen:
                on_change(refresh)
                seen = state
            if refresh["Status"] in REFRESH_DONE:
                break
            self.sleep(self.poll_interval)
        if refresh["Status"] != "Successful":
            reason = refresh.get("StatusReason")
            raise RefreshFailed(
                refresh_id=refresh_id,
                group=group,
                status=refresh["Status"],
                reason=f": {reason}" if reason else "",
            )
        return refresh
