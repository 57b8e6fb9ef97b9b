"""The reader clean-up custom resource's handler (issue 16, point 5), against the local AWS API
(RDS and Application Auto Scaling on the moto server) and a local endpoint for its reply."""

from __future__ import annotations

import http.server
import json
import threading
import uuid
from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber

from infra.handlers import reader_cleanup

DIMENSION = "rds:cluster:ReadReplicaCount"


class Replies(http.server.BaseHTTPRequestHandler):
    """Stands in for CloudFormation's pre-signed response URL: keeps each PUT body."""

    received: list[dict] = []

    def do_PUT(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet: the test reads the replies, not the access log."""


@pytest.fixture
def response_url() -> Iterator[tuple[str, list[dict]]]:
    """A response URL on 127.0.0.1 and the replies it received."""
    received: list[dict] = []
    handler = type("Handler", (Replies,), {"received": received})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/response", received
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


class Context:
    """The Lambda context: only the remaining time is read."""

    def __init__(self, remaining_ms: int = 900_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def cluster(aws_server, monkeypatch) -> str:
    """An Aurora cluster with its writer, one template reader and two auto-scaled readers, and
    its replica scalable target, on the local AWS API."""
    monkeypatch.setattr(reader_cleanup, "POLL_S", 0.05)
    name = f"c-{uuid.uuid4().hex[:8]}"
    rds = boto3.client("rds")
    rds.create_db_cluster(
        DBClusterIdentifier=name,
        Engine="aurora-mysql",
        MasterUsername="admin",
        MasterUserPassword="not-a-real-password",
    )
    for instance in (
        f"{name}-writer",
        f"{name}-reader1",
        f"application-autoscaling-{name}-a",
        f"application-autoscaling-{name}-b",
    ):
        rds.create_db_instance(
            DBInstanceIdentifier=instance,
            DBClusterIdentifier=name,
            Engine="aurora-mysql",
            DBInstanceClass="db.r6g.large",
        )
    boto3.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="rds",
        ResourceId=f"cluster:{name}",
        ScalableDimension=DIMENSION,
        MinCapacity=1,
        MaxCapacity=4,
    )
    return name


def event(kind: str, cluster: str, url: str, auto_scaling: str = "Enabled") -> dict:
    """A custom resource request as CloudFormation sends it."""
    return {
        "RequestType": kind,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": "ReaderCleanup",
        "PhysicalResourceId": f"reader-cleanup-{cluster}",
        "ResourceProperties": {"ClusterId": cluster, "AutoScaling": auto_scaling},
    }


def members(cluster: str) -> set[str]:
    """The cluster's instances on the local AWS API."""
    found = boto3.client("rds").describe_db_instances(
        Filters=[{"Name": "db-cluster-id", "Values": [cluster]}]
    )
    return {instance["DBInstanceIdentifier"] for instance in found["DBInstances"]}


def targets(cluster: str) -> list[dict]:
    """The cluster's replica scalable targets."""
    return boto3.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="rds", ResourceIds=[f"cluster:{cluster}"]
    )["ScalableTargets"]


def test_delete_removes_the_auto_scaled_readers_and_the_target(cluster, response_url):
    """On Delete the scalable target is deregistered and only the readers auto scaling added
    are deleted; the template's writer and reader stay for CloudFormation; SUCCESS is sent."""
    url, received = response_url
    reader_cleanup.handler(event("Delete", cluster, url), Context())
    assert members(cluster) == {f"{cluster}-writer", f"{cluster}-reader1"}
    assert targets(cluster) == []
    (reply,) = received
    assert reply["Status"] == "SUCCESS", reply
    assert reply["PhysicalResourceId"] == f"reader-cleanup-{cluster}"
    assert f"application-autoscaling-{cluster}-a" in reply["Reason"]


def test_switch_to_disabled_removes_them_too(cluster, response_url):
    """An Update with AutoScaling Disabled cleans up as Delete does and keeps its physical ID."""
    url, received = response_url
    reader_cleanup.handler(event("Update", cluster, url, auto_scaling="Disabled"), Context())
    assert members(cluster) == {f"{cluster}-writer", f"{cluster}-reader1"}
    assert targets(cluster) == []
    assert [(r["Status"], r["PhysicalResourceId"]) for r in received] == [
        ("SUCCESS", f"reader-cleanup-{cluster}")
    ]


def test_update_with_auto_scaling_enabled_touches_nothing(cluster, response_url):
    """While auto scaling stays Enabled, an Update leaves readers and target alone."""
    url, received = response_url
    reader_cleanup.handler(event("Update", cluster, url), Context())
    assert len(members(cluster)) == 4
    assert len(targets(cluster)) == 1
    assert [r["Status"] for r in received] == ["SUCCESS"]


def test_nothing_to_do_succeeds(aws_server, response_url, monkeypatch):
    """A cluster without auto-scaled readers or target (or already gone): SUCCESS at once."""
    monkeypatch.setattr(reader_cleanup, "POLL_S", 0.05)
    url, received = response_url
    reader_cleanup.handler(event("Delete", "no-such-cluster", url), Context())
    assert [(r["Status"], r["Reason"]) for r in received] == [
        ("SUCCESS", "deleted 0 reader(s) added by auto scaling: []")
    ]


def deleting_rds(states: list[str]) -> tuple[object, Stubber]:
    """An RDS client whose describe calls answer one auto-scaled reader in each given status
    (moto deletes at once, so it cannot show an instance in 'deleting'), then none."""
    rds = boto3.client("rds")
    stubber = Stubber(rds)
    where = {"Filters": [{"Name": "db-cluster-id", "Values": ["c1"]}]}
    for state in states:
        instance = {"DBInstanceIdentifier": "application-autoscaling-x", "DBInstanceStatus": state}
        stubber.add_response("describe_db_instances", {"DBInstances": [instance]}, where)
    return rds, stubber


def test_an_instance_already_deleting_is_waited_for_not_deleted_again(aws_server):
    """A reader RDS is already deleting gets no second delete call (which RDS would refuse);
    the handler waits until it is gone."""
    rds, stubber = deleting_rds(["deleting", "deleting"])
    stubber.add_response(
        "describe_db_instances",
        {"DBInstances": []},
        {"Filters": [{"Name": "db-cluster-id", "Values": ["c1"]}]},
    )
    scaling = boto3.client("application-autoscaling")
    with stubber:
        gone = reader_cleanup.cleanup("c1", rds, scaling, lambda: 900_000, 0.01)
    stubber.assert_no_pending_responses()
    assert gone == []


def test_a_reader_that_outlives_the_deadline_fails_with_a_clear_reason(aws_server):
    """Near the Lambda's timeout the cleanup stops waiting and says which reader is left, in
    what state, and what to do, instead of leaving CloudFormation to wait for an hour."""
    rds, stubber = deleting_rds(["deleting"])
    with stubber, pytest.raises(TimeoutError) as raised:
        reader_cleanup.cleanup("c1", rds, boto3.client("application-autoscaling"), lambda: 1, 1)
    message = str(raised.value)
    assert "['application-autoscaling-x'] (deleting)" in message
    assert "retry the stack operation" in message


def test_the_deadline_reaches_cloudformation_as_failed(cluster, response_url):
    """With no time left the handler sends FAILED with the reason, never nothing."""
    url, received = response_url
    reader_cleanup.handler(event("Delete", cluster, url), Context(remaining_ms=1))
    (reply,) = received
    assert reply["Status"] == "FAILED"
    assert reply["Reason"].startswith("TimeoutError: readers added by auto scaling still exist")
    assert f"application-autoscaling-{cluster}-a" in reply["Reason"]
