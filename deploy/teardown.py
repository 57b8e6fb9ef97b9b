"""What ``down`` must do around CloudFormation's own delete, and what it leaves behind.

Two things stop CloudFormation from deleting an Aurora cluster: its deletion protection, and reader
instances that replica auto scaling added (they are not the stack's resources, so the stack never
deletes them and the cluster is not empty). Both are handled here, the first only when the
operator asks. Resources with a Retain or Snapshot DeletionPolicy are reported as kept.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from . import templates
from .events import STACK_TYPE
from .exceptions import ClusterCheckDenied, ReadersStillThere
from .retry import DENIED_CODES, Retrying, error_code


@dataclass(frozen=True)
class Resource:
    stack_id: str
    stack_path: str
    logical_id: str
    physical_id: str
    type: str


@dataclass
class Plan:
    """What deleting the stack involves."""

    protected_stack: bool
    protected_clusters: list[str] = field(default_factory=list)
    extra_readers: dict[str, list[str]] = field(default_factory=dict)  # cluster -> instances
    kept: list[str] = field(default_factory=list)


def resources(cloudformation: Any, stack_id: str, path: str, retry: Retrying) -> list[Resource]:
    """Every resource of the stack and its nested stacks."""
    found: list[Resource] = []
    token = None
    while True:
        page = retry(
            cloudformation.list_stack_resources,
            StackName=stack_id,
            **({"NextToken": token} if token else {}),
        )
        for raw in page.get("StackResourceSummaries", []):
            resource = Resource(
                stack_id=stack_id,
                stack_path=path,
                logical_id=raw["LogicalResourceId"],
                physical_id=raw.get("PhysicalResourceId", "") or "",
                type=raw["ResourceType"],
            )
            found.append(resource)
            if resource.type == STACK_TYPE and resource.physical_id:
                found.extend(
                    resources(
                        cloudformation,
                        resource.physical_id,
                        f"{path}/{resource.logical_id}",
                        retry,
                    )
                )
        token = page.get("NextToken")
        if not token:
            return found


def plan(cloudformation: Any, rds: Any, stack: dict[str, Any], retry: Retrying) -> Plan:
    """Read the stack's resources, templates and DB clusters; change nothing."""
    all_resources = resources(cloudformation, stack["StackId"], stack["StackName"], retry)
    result = Plan(protected_stack=bool(stack.get("EnableTerminationProtection")))
    stacks = {stack["StackId"]: stack["StackName"]} | {
        r.physical_id: f"{r.stack_path}/{r.logical_id}"
        for r in all_resources
        if r.type == STACK_TYPE
    }
    for stack_id, path in stacks.items():
        body = retry(cloudformation.get_template, StackName=stack_id)["TemplateBody"]
        template = body if isinstance(body, dict) else templates.load(body)
        for logical_id, kind, policy in templates.retained(json.loads(json.dumps(template))):
            what = "a final snapshot is taken" if policy == "Snapshot" else "it is retained"
            result.kept.append(f"{path}/{logical_id} ({kind}): {what}")
    own_instances = {r.physical_id for r in all_resources if r.type == "AWS::RDS::DBInstance"}
    for cluster_id in [r.physical_id for r in all_resources if r.type == "AWS::RDS::DBCluster"]:
        try:
            clusters = retry(rds.describe_db_clusters, DBClusterIdentifier=cluster_id)
        except ClientError as error:
            if error_code(error) == "DBClusterNotFoundFault":
                continue  # already gone
            if error_code(error) in DENIED_CODES:
                # Not "gone": an unreadable cluster may be protected, and skipping the check
                # would let the delete run into it halfway.
                raise ClusterCheckDenied(
                    cluster=cluster_id,
                    operation="rds:DescribeDBClusters",
                    reason=error.response["Error"].get("Message", ""),
                ) from error
            raise
        cluster = clusters["DBClusters"][0]
        if cluster.get("DeletionProtection"):
            result.protected_clusters.append(cluster_id)
        extra = sorted(
            member["DBInstanceIdentifier"]
            for member in cluster.get("DBClusterMembers", [])
            if member["DBInstanceIdentifier"] not in own_instances
        )
        if extra:
            result.extra_readers[cluster_id] = extra
    return result


def set_cluster_protection(rds: Any, clusters: list[str], retry: Retrying, *, on: bool) -> None:
    """Turn deletion protection off before the delete, or back on after a failed one (a cluster
    the delete already removed is skipped)."""
    for cluster_id in clusters:
        try:
            retry(
                rds.modify_db_cluster,
                DBClusterIdentifier=cluster_id,
                DeletionProtection=on,
                ApplyImmediately=True,
            )
        except ClientError as error:
            if not (on and error_code(error) == "DBClusterNotFoundFault"):
                raise


def stop_reader_scaling(autoscaling: Any, readers: dict[str, list[str]], retry: Retrying) -> None:
    """Suspend replica auto scaling on the clusters whose extra readers are about to go, so it
    does not add readers back (deleting some raises the others' load) during the long delete."""
    for cluster_id in readers:
        retry(
            autoscaling.register_scalable_target,
            ServiceNamespace="rds",
            ResourceId=f"cluster:{cluster_id}",
            ScalableDimension="rds:cluster:ReadReplicaCount",
            SuspendedState={
                "DynamicScalingInSuspended": True,
                "DynamicScalingOutSuspended": True,
                "ScheduledScalingSuspended": True,
            },
        )


# Deleting an Aurora reader takes minutes; past this, `down` stops rather than wait forever.
READERS_DEADLINE = 30 * 60


def remove_readers(
    rds: Any, readers: dict[str, list[str]], retry: Retrying, sleep, poll, clock=time.monotonic
) -> None:
    """Delete the auto-scaled readers and wait until they are gone (ReadersStillThere after
    READERS_DEADLINE seconds)."""
    pending = [instance for instances in readers.values() for instance in instances]
    for instance in pending:
        retry(rds.delete_db_instance, DBInstanceIdentifier=instance)
    deadline = clock() + READERS_DEADLINE
    while pending:
        if clock() > deadline:
            raise ReadersStillThere(minutes=READERS_DEADLINE // 60, readers=", ".join(pending))
        remaining = []
        for instance in pending:
            try:
                retry(rds.describe_db_instances, DBInstanceIdentifier=instance)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == "DBInstanceNotFound":
                    continue
                raise
            remaining.append(instance)
        pending = remaining
        if pending:
            sleep(poll)
