"""Custom resource: readers that Aurora Auto Scaling added go on Delete and on the switch to
Disabled. RDS creates them outside the stack, so without this a console delete fails on the
cluster and a switch to Disabled leaves them running and billed. Replies before the Lambda
timeout, never leaving CloudFormation to wait out its own.
"""

import json
import time
import urllib.request

import boto3

PREFIX = "application-autoscaling-"  # how Aurora Auto Scaling names the readers it adds
DIMENSION = "rds:cluster:ReadReplicaCount"
MARGIN_MS = 30000  # time kept to reply when the deadline nears
POLL_S = 15


def handler(event, context):
    props = event["ResourceProperties"]
    cluster = props["ClusterId"]
    status, reason = "SUCCESS", ""
    off = event["RequestType"] == "Delete" or props.get("AutoScaling") != "Enabled"
    try:
        if event["RequestType"] != "Create" and off:
            clients = boto3.client("rds"), boto3.client("application-autoscaling")
            gone = cleanup(cluster, *clients, context.get_remaining_time_in_millis, POLL_S)
            reason = f"deleted {len(gone)} reader(s) added by auto scaling: {gone}"
    except Exception as error:  # every failure must reach CloudFormation as FAILED
        status, reason = "FAILED", f"{type(error).__name__}: {error}"
    print(json.dumps({"status": status, "reason": reason}))
    reply(event, status, reason[:3000], f"reader-cleanup-{cluster}")


def cleanup(cluster, rds, scaling, remaining_ms, poll_s):
    """Deregister the replica target, delete the added readers, wait until they are gone."""
    target = {"ServiceNamespace": "rds", "ResourceIds": [f"cluster:{cluster}"]}
    for found in scaling.describe_scalable_targets(**target)["ScalableTargets"]:
        if found["ScalableDimension"] == DIMENSION:
            scaling.deregister_scalable_target(
                ServiceNamespace="rds", ResourceId=found["ResourceId"], ScalableDimension=DIMENSION
            )
    asked = []
    while True:
        left = added(rds, cluster)
        if not left:
            return sorted(asked)
        for name, state in left.items():
            if state != "deleting" and name not in asked:
                rds.delete_db_instance(DBInstanceIdentifier=name)
                asked.append(name)
        if remaining_ms() < MARGIN_MS + poll_s * 1000:
            raise TimeoutError(
                f"readers added by auto scaling still exist at the Lambda's deadline: "
                f"{sorted(left)} ({', '.join(sorted(set(left.values())))}). Wait until RDS has "
                "deleted them, then retry the stack operation"
            )
        time.sleep(poll_s)


def added(rds, cluster):
    """Readers of the cluster that auto scaling added: name -> status."""
    where = [{"Name": "db-cluster-id", "Values": [cluster]}]
    found = {}
    for page in rds.get_paginator("describe_db_instances").paginate(Filters=where):
        for instance in page["DBInstances"]:
            if instance["DBInstanceIdentifier"].startswith(PREFIX):
                found[instance["DBInstanceIdentifier"]] = instance["DBInstanceStatus"]
    return found


def reply(event, status, reason, physical_id):
    """The custom resource response: a PUT of JSON to the pre-signed URL."""
    body = {
        "Status": status,
        "Reason": reason or status,
        "PhysicalResourceId": event.get("PhysicalResourceId", physical_id),
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
    }
    data = json.dumps(body).encode()
    url = event["ResponseURL"]  # CloudFormation's pre-signed S3 URL
    request = urllib.request.Request(url, data=data, method="PUT")  # noqa: S310
    request.add_header("Content-Type", "")
    with urllib.request.urlopen(request, timeout=30):  # noqa: S310
        pass
