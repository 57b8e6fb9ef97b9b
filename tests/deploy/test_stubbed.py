"""What the local AWS API cannot produce, with botocore's Stubber on the CloudFormation client.

The local API emits no resource-level events (so no failed resource, no cascade), no nested
change sets or replacement flags, never a ROLLBACK_COMPLETE stack, never throttles, and has no
termination protection. S3, STS and RDS stay real (the local API over HTTP).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import ANY, Stubber

from deploy import cli
from deploy.events import Event, root_cause

from .conftest import REGION

ACCOUNT = "123456789012"
T0 = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)


def stack_arn(name: str) -> str:
    return f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/0a1b2c3d"


def event(stack: str, logical: str, status: str, second: int, reason: str = "", **extra) -> dict:
    """A stack event as DescribeStackEvents returns it; ``stack`` is the stack's name."""
    own = logical == stack
    return {
        "StackId": stack_arn(stack),
        "EventId": f"{stack}-{logical}-{status}-{second}",
        "StackName": stack,
        "LogicalResourceId": logical,
        "PhysicalResourceId": stack_arn(stack) if own else extra.pop("physical", f"{logical}-id"),
        "ResourceType": "AWS::CloudFormation::Stack" if own else extra.pop("type"),
        "Timestamp": T0 + timedelta(seconds=second),
        "ResourceStatus": status,
        **({"ResourceStatusReason": reason} if reason else {}),
    }


def stack_description(name: str, status: str, **extra) -> dict:
    return {
        "Stacks": [
            {"StackName": name, "StackId": stack_arn(name), "CreationTime": T0,
             "StackStatus": status, **extra}
        ]
    }  # fmt: skip


def resource(logical: str, kind: str, physical: str, status: str = "CREATE_COMPLETE") -> dict:
    return {
        "LogicalResourceId": logical,
        "PhysicalResourceId": physical,
        "ResourceType": kind,
        "LastUpdatedTimestamp": T0,
        "ResourceStatus": status,
    }


NESTED = "web-NetworkStack-1ABC"
SUBNET_REASON = (
    "Resource handler returned message: \"The CIDR '10.0.0.0/33' is invalid.\" "
    "(Service: Ec2, Status Code: 400, HandlerErrorCode: InvalidRequest)"
)
# A failed creation, newest first, as CloudFormation logs it for the root and the nested stack.
ROOT_EVENTS = [
    event("web", "web", "ROLLBACK_COMPLETE", 40),
    event("web", "NetworkStack", "DELETE_COMPLETE", 39, type="AWS::CloudFormation::Stack",
          physical=stack_arn(NESTED)),
    event("web", "web", "ROLLBACK_IN_PROGRESS", 31,
          "The following resource(s) failed to create: [NetworkStack]. Rollback requested."),
    event("web", "NetworkStack", "CREATE_FAILED", 30,
          f"Embedded stack {stack_arn(NESTED)} was not successfully created: The following "
          "resource(s) failed to create: [NatGateway, PublicSubnet].",
          type="AWS::CloudFormation::Stack", physical=stack_arn(NESTED)),
    event("web", "NetworkStack", "CREATE_IN_PROGRESS", 2, "Resource creation Initiated",
          type="AWS::CloudFormation::Stack", physical=stack_arn(NESTED)),
    event("web", "web", "CREATE_IN_PROGRESS", 1, "User Initiated"),
    event("web", "web", "REVIEW_IN_PROGRESS", 0, "User Initiated"),
]  # fmt: skip
NESTED_EVENTS = [
    event(NESTED, NESTED, "ROLLBACK_COMPLETE", 38),
    event(NESTED, "NatGateway", "CREATE_FAILED", 22, "Resource creation cancelled",
          type="AWS::EC2::NatGateway"),
    event(NESTED, NESTED, "ROLLBACK_IN_PROGRESS", 21,
          "The following resource(s) failed to create: [NatGateway, PublicSubnet]."),
    event(NESTED, "PublicSubnet", "CREATE_FAILED", 20, SUBNET_REASON, type="AWS::EC2::Subnet"),
    event(NESTED, "Vpc", "CREATE_COMPLETE", 15, type="AWS::EC2::VPC"),
    event(NESTED, NESTED, "CREATE_IN_PROGRESS", 3, "User Initiated"),
]  # fmt: skip


@pytest.fixture
def stubbed(clients):
    """Clients whose CloudFormation is stubbed; the stubs must all be used by the test's end."""
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    stubber = Stubber(cloudformation)
    stubber.activate()
    yield stubber, dataclasses.replace(clients, cloudformation=cloudformation)
    stubber.assert_no_pending_responses()


def test_events_after_a_rollback_name_the_nested_root_cause(stubbed, run):
    """`events` merges root and nested events and names the failed subnet, not the cascade."""
    stubber, clients = stubbed
    stubber.add_response("describe_stacks", stack_description("web", "ROLLBACK_COMPLETE"))
    stubber.add_response(
        "list_stack_resources",
        {"StackResourceSummaries": [resource("NetworkStack", "AWS::CloudFormation::Stack",
                                             stack_arn(NESTED), "DELETE_COMPLETE")]},
        {"StackName": stack_arn("web")},
    )  # fmt: skip
    stubber.add_response("list_stack_resources", {"StackResourceSummaries": []})
    stubber.add_response("describe_stack_events", {"StackEvents": ROOT_EVENTS})
    stubber.add_response(
        "describe_stack_events", {"StackEvents": NESTED_EVENTS}, {"StackName": stack_arn(NESTED)}
    )
    result = run("events", "--stack-name", "web", with_clients=clients)
    assert result.code == 1  # the last operation rolled back
    lines = result.out.splitlines()
    assert not any("REVIEW_IN_PROGRESS" in line for line in lines)  # before the operation
    subnet = next(i for i, line in enumerate(lines) if "web/NetworkStack/PublicSubnet" in line)
    cascade = next(i for i, line in enumerate(lines) if "Embedded stack" in line)
    assert subnet < cascade  # merged in time order
    assert "web: ROLLBACK_COMPLETE" in result.out
    assert (
        "Root cause:\n"
        f"  stack:    web/NetworkStack ({stack_arn(NESTED)})\n"
        "  resource: PublicSubnet (AWS::EC2::Subnet)\n"
        "  status:   CREATE_FAILED\n"
        f"  reason:   {SUBNET_REASON}"
    ) in result.out


def stub_deleted_stack(stubber, root_events):
    """`events` on the deleted stack "web": its last operation, then its whole history."""
    gone = {"service_error_code": "ValidationError", "service_message": "Stack does not exist"}
    stubber.add_response("describe_stacks", stack_description("web", "DELETE_COMPLETE"))
    for _ in range(2):
        stubber.add_client_error("list_stack_resources", **gone)
        stubber.add_response("describe_stack_events", {"StackEvents": root_events})
    stubber.add_response(
        "describe_stack_events", {"StackEvents": NESTED_EVENTS}, {"StackName": stack_arn(NESTED)}
    )


def test_events_of_a_deleted_stack_by_id_find_the_failure_before_deletion(stubbed, run):
    """For a deleted stack (by stack ID) the cause of the failure before the deletion is shown."""
    stubber, clients = stubbed
    deletion = [
        event("web", "web", "DELETE_COMPLETE", 60),
        event("web", "web", "DELETE_IN_PROGRESS", 50, "User Initiated"),
    ]
    stub_deleted_stack(stubber, deletion + ROOT_EVENTS)
    result = run("events", "--stack-name", stack_arn("web"), with_clients=clients)
    assert result.code == 0
    assert "web: DELETE_COMPLETE" in result.out
    assert "resource: PublicSubnet (AWS::EC2::Subnet)" in result.out


def test_events_of_a_deleted_stack_ignore_failures_older_than_the_operation_before(stubbed, run):
    """A stack whose last update went fine before it was deleted shows no old failure as cause."""
    stubber, clients = stubbed
    later = [
        event("web", "web", "DELETE_COMPLETE", 70),
        event("web", "web", "DELETE_IN_PROGRESS", 60, "User Initiated"),
        event("web", "web", "UPDATE_COMPLETE", 50),
        event("web", "web", "UPDATE_IN_PROGRESS", 45, "User Initiated"),
    ]
    stub_deleted_stack(stubber, later + ROOT_EVENTS)
    result = run("events", "--stack-name", stack_arn("web"), with_clients=clients)
    assert result.code == 0
    assert "web: DELETE_COMPLETE" in result.out
    assert "Root cause" not in result.out


def test_root_cause_skips_cancellations_and_cascades_whatever_their_order():
    """Cancellations and cascades logged before the real failure are not taken for the cause."""

    def make(second, path, logical, reason):
        when = T0 + timedelta(seconds=second)
        kind = "AWS::EC2::Subnet"
        return Event(
            f"{logical}", when, "id", path, path, logical, "", kind, "CREATE_FAILED", reason
        )

    events = [
        make(1, "web/Db", "Cluster", "Resource creation cancelled"),
        make(2, "web", "DbStack", "Embedded stack x was not successfully created"),
        make(3, "web/Net", "Subnet", "The CIDR is invalid"),
    ]
    assert root_cause(events).logical_id == "Subnet"
    assert root_cause(events[:2]).logical_id == "Cluster"  # nothing better: the first failure
    assert root_cause([]) is None


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("ROLLBACK_COMPLETE", "is in ROLLBACK_COMPLETE: its creation failed and it cannot be "
         "updated. Read why with `python -m deploy events --stack-name {name}`, delete it with "
         "`python -m deploy down --stack-name {name}`"),
        ("UPDATE_ROLLBACK_FAILED", "run `aws cloudformation continue-update-rollback"),
        ("UPDATE_IN_PROGRESS", "is UPDATE_IN_PROGRESS: another operation is running."),
        ("ROLLBACK_FAILED", "is ROLLBACK_FAILED: its creation failed and so did the rollback"),
        ("DELETE_FAILED", "is DELETE_FAILED: a deletion stopped at a resource it could not "
         "delete"),
        ("IMPORT_ROLLBACK_FAILED", "is IMPORT_ROLLBACK_FAILED: a resource import failed"),
    ],
)  # fmt: skip
def test_up_refuses_stacks_it_cannot_update(stubbed, up, name, status, message):
    """`up` on a stack that cannot take a change set says why and what to do next."""
    stubber, clients = stubbed
    stubber.add_response("describe_stacks", stack_description(name, status))
    result = up(with_clients=clients)
    assert result.code == 1
    assert message.format(name=name) in result.out


CREATE_PARAMS = {
    "StackName": ANY, "ChangeSetName": ANY, "TemplateURL": ANY, "Parameters": ANY,
    "Capabilities": ANY, "IncludeNestedStacks": True, "Description": ANY,
}  # fmt: skip


ROLE = "arn:aws:iam::123456789012:role/cloudformation-deployer"


@pytest.mark.parametrize(
    ("flags", "on_failure", "extra"),
    [((), "DO_NOTHING", {}), (("--on-failure", "delete"), "DELETE", {}),
     (("--on-failure", "rollback", "--role-arn", ROLE), "ROLLBACK", {"RoleARN": ROLE})],
)  # fmt: skip
def test_a_first_create_keeps_a_failed_stack_unless_told_otherwise(
    stubbed, up, flags, on_failure, extra
):
    """A CREATE change set carries OnStackFailure: DO_NOTHING by default, else as --on-failure;
    and RoleARN with --role-arn."""
    stubber, clients = stubbed
    stubber.add_client_error("describe_stacks", "ValidationError", "Stack with id x does not exist")
    stubber.add_response(
        "create_change_set",
        {"Id": "arn:aws:cloudformation:cs/root", "StackId": stack_arn("web")},
        CREATE_PARAMS | {"ChangeSetType": "CREATE", "OnStackFailure": on_failure} | extra,
    )
    stubber.add_response("describe_change_set", {
        "ChangeSetId": "cs", "StackId": stack_arn("web"), "Status": "CREATE_COMPLETE",
        "Changes": [],
    })  # fmt: skip
    result = up("--no-execute", *flags, with_clients=clients)
    assert result.code == 0, result.out


def test_a_stack_left_create_failed_is_updated(stubbed, up, name):
    """`up` on a CREATE_FAILED stack (kept by DO_NOTHING) makes an UPDATE change set, without
    OnStackFailure (CloudFormation takes it on a CREATE only)."""
    stubber, clients = stubbed
    stubber.add_response("describe_stacks", stack_description(name, "CREATE_FAILED"))
    stubber.add_response(
        "create_change_set",
        {"Id": "arn:aws:cloudformation:cs/root", "StackId": stack_arn(name)},
        CREATE_PARAMS | {"ChangeSetType": "UPDATE"},
    )
    stubber.add_response("describe_change_set", {
        "ChangeSetId": "cs", "StackId": stack_arn(name), "Status": "CREATE_COMPLETE",
        "Changes": [],
    })  # fmt: skip
    result = up("--no-execute", with_clients=clients)
    assert result.code == 0, result.out
    assert "(UPDATE):" in result.out


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        ("AccessDenied", "User: arn:aws:iam::1:user/x is not authorized to perform: "
         "cloudformation:CreateChangeSet", "lacks a permission; the template is not the problem"),
        ("LimitExceededException", "Cannot exceed quota for StacksPerRegion: 2000",
         "An account quota is reached"),
        ("ValidationError", "Stack:arn:aws:cloudformation:x is in UPDATE_IN_PROGRESS state and "
         "can not be updated.", "Another operation changed the stack meanwhile"),
        ("ValidationError", "Template format error: Unresolved resource dependencies [Vpc]",
         "Fix the template or parameters and run again."),
    ],
)  # fmt: skip
def test_create_change_set_errors_each_say_what_to_do(stubbed, up, name, code, message, expected):
    """Denied, over quota, wrong state and a bad template each get their own next step."""
    stubber, clients = stubbed
    stubber.add_response("describe_stacks", stack_description(name, "UPDATE_COMPLETE"))
    stubber.add_client_error("create_change_set", code, message, 400)
    result = up(with_clients=clients)
    assert result.code == 1
    assert message in result.out
    assert expected in result.out
    others = {"lacks a permission", "quota is reached", "changed the stack", "Fix the template"}
    assert sum(other in result.out for other in others) == 1  # one diagnosis, not several


def test_preview_shows_nested_change_sets_and_flags_data_at_risk(stubbed, up, name):
    """The preview lists each nested change set and warns about a replaced DB cluster."""
    stubber, clients = stubbed
    root_cs, net_cs, db_cs = (f"arn:aws:cloudformation:cs/{n}" for n in ("root", "net", "db"))

    def change_set(cs_id, stack, changes):
        return {"ChangeSetId": cs_id, "StackId": stack_arn(stack), "Status": "CREATE_COMPLETE",
                "ExecutionStatus": "AVAILABLE", "Changes": changes}  # fmt: skip

    stubber.add_response(
        "describe_stacks", stack_description(name, "UPDATE_COMPLETE", Parameters=[])
    )
    stubber.add_response(
        "create_change_set",
        {"Id": root_cs, "StackId": stack_arn(name)},
        {"StackName": name, "ChangeSetName": ANY, "ChangeSetType": "UPDATE", "TemplateURL": ANY,
         "Parameters": ANY, "Capabilities": ANY, "IncludeNestedStacks": True,
         "Description": ANY},  # no Tags: an empty list would remove the stack's tags
    )  # fmt: skip
    stubber.add_response("describe_change_set", change_set(root_cs, name, [
        change("Modify", "NetworkStack", "AWS::CloudFormation::Stack", "False", net_cs),
        change("Modify", "DatabaseStack", "AWS::CloudFormation::Stack", "False", db_cs),
    ]))  # fmt: skip
    stubber.add_response("describe_change_set", change_set(net_cs, "net", [
        change("Add", "PrivateSubnet3", "AWS::EC2::Subnet"),
    ]))  # fmt: skip
    stubber.add_response("describe_change_set", change_set(db_cs, "db", [
        change("Modify", "Cluster", "AWS::RDS::DBCluster", "True"),
        change("Modify", "Writer", "AWS::RDS::DBInstance", "False"),
        change("Remove", "AppSecret", "AWS::SecretsManager::Secret"),
    ]))  # fmt: skip
    result = up("--no-execute", with_clients=clients)
    assert result.code == 0, result.out
    assert f"Stack {name}/NetworkStack: 1 to add" in result.out
    assert f"Stack {name}: 2 to modify" in result.out
    assert f"Stack {name}/DatabaseStack: 2 to modify, 1 to remove" in result.out
    assert "~ Modify  Cluster (AWS::RDS::DBCluster)  REPLACEMENT  !! DATA AT RISK" in result.out
    assert "~ Modify  Writer (AWS::RDS::DBInstance)\n" in result.out
    assert "WARNING: 2 change(s) replace or remove a stateful resource:" in result.out
    assert f"{name}/DatabaseStack/AppSecret (AWS::SecretsManager::Secret) is removed" in result.out


def test_throttled_calls_are_retried_with_jittered_backoff(stubbed, capsys):
    """Two Throttling answers are waited out (growing random delays) and the command succeeds."""
    stubber, clients = stubbed
    for _ in range(2):
        stubber.add_client_error("describe_stacks", "Throttling", "Rate exceeded", 400)
    stubber.add_response("describe_stacks", stack_description("web", "UPDATE_COMPLETE"))
    stubber.add_response("list_stack_resources", {"StackResourceSummaries": []})
    delays: list[float] = []
    code = cli.main(["status", "--stack-name", "web"], clients=clients, sleep=delays.append)
    assert code == 0
    assert "web: UPDATE_COMPLETE" in capsys.readouterr().out
    assert len(delays) == 2
    assert 0 <= delays[0] <= 1.0 and 0 <= delays[1] <= 2.0  # full jitter under base * 2**n


def test_throttling_that_never_ends_is_reported(stubbed, capsys):
    """After the last attempt the throttling error reaches the edge as a one-line message."""
    stubber, clients = stubbed
    for _ in range(8):
        stubber.add_client_error("describe_stacks", "Throttling", "Rate exceeded", 400)
    code = cli.main(["status", "--stack-name", "web"], clients=clients, sleep=lambda s: None)
    assert code == 1
    assert (
        "Error: AWS refused DescribeStacks (Throttling): Rate exceeded." in capsys.readouterr().out
    )


DB_STACK = "web-DatabaseStack-9XYZ"
DB_TEMPLATE = """\
Resources:
  Cluster:
    Type: AWS::RDS::DBCluster
    DeletionPolicy: Snapshot
  Writer:
    Type: AWS::RDS::DBInstance
  Key:
    Type: AWS::KMS::Key
    DeletionPolicy: Retain
"""


@pytest.fixture
def aurora(clients, name):
    """A protected Aurora cluster on the local RDS API: the stack's writer plus a reader that
    replica auto scaling added (not a stack resource)."""
    rds = clients.rds
    rds.create_db_cluster(
        DBClusterIdentifier=name, Engine="aurora-mysql", MasterUsername="admin",
        MasterUserPassword="password-1234", DeletionProtection=True,
    )  # fmt: skip
    for instance in (f"{name}-writer", f"application-autoscaling-{name}"):
        rds.create_db_instance(
            DBInstanceIdentifier=instance, DBClusterIdentifier=name, Engine="aurora-mysql",
            DBInstanceClass="db.r6g.large",
        )  # fmt: skip
    return name


def stub_down_plan(stubber, cluster: str) -> None:
    """The calls `down` makes to learn the stack's resources and templates."""
    stubber.add_response(
        "describe_stacks",
        stack_description("web", "UPDATE_COMPLETE", EnableTerminationProtection=True),
    )
    stubber.add_response("list_stack_resources", {"StackResourceSummaries": [
        resource("DatabaseStack", "AWS::CloudFormation::Stack", stack_arn(DB_STACK)),
    ]})  # fmt: skip
    stubber.add_response("list_stack_resources", {"StackResourceSummaries": [
        resource("Cluster", "AWS::RDS::DBCluster", cluster),
        resource("Writer", "AWS::RDS::DBInstance", f"{cluster}-writer"),
        resource("Key", "AWS::KMS::Key", "key-id"),
    ]}, {"StackName": stack_arn(DB_STACK)})  # fmt: skip
    stubber.add_response("get_template", {"TemplateBody": "Resources: {}\n"})
    stubber.add_response("get_template", {"TemplateBody": DB_TEMPLATE})


def stub_termination_protection(stubber, enabled: bool) -> None:
    stubber.add_response(
        "update_termination_protection",
        {"StackId": stack_arn("web")},
        {"StackName": stack_arn("web"), "EnableTerminationProtection": enabled},
    )


def stub_down_until_delete(stubber, cluster: str) -> None:
    """The plan, protection turned off, and the DeleteStack call."""
    stub_down_plan(stubber, cluster)
    stub_termination_protection(stubber, False)
    stubber.add_response("describe_stack_events", {"StackEvents": ROOT_EVENTS[:1]})
    stubber.add_response("delete_stack", {}, {"StackName": stack_arn("web")})


def test_down_refuses_protected_stacks_without_the_flag(stubbed, run, aurora):
    """`down` on a protected stack says which flag turns protection off; nothing is deleted."""
    stubber, clients = stubbed
    stub_down_plan(stubber, aurora)
    result = run("down", "--stack-name", "web", "--yes", with_clients=clients)
    assert result.code == 1
    assert "Stack web (termination protection) has deletion protection on." in result.out
    assert "--disable-protection" in result.out
    members = clients.rds.describe_db_clusters(DBClusterIdentifier=aurora)["DBClusters"][0]
    assert len(members["DBClusterMembers"]) == 2


def test_down_unprotects_removes_scaled_readers_and_says_what_is_kept(stubbed, run, aurora):
    """With --disable-protection, `down` lifts both protections, deletes the auto-scaled reader
    (the stack's own writer stays for CloudFormation), and lists the snapshot and the key."""
    stubber, clients = stubbed
    stub_down_until_delete(stubber, aurora)
    stubber.add_response("describe_stack_events", {"StackEvents": [
        event("web", "web", "DELETE_COMPLETE", 90),
        event("web", "web", "DELETE_IN_PROGRESS", 80, "User Initiated"),
        *ROOT_EVENTS[:1],
    ]})  # fmt: skip
    stubber.add_response("describe_stacks", stack_description("web", "DELETE_COMPLETE"))
    stubber.add_client_error("list_stack_resources", "ValidationError", "Stack does not exist")
    stubber.add_response("describe_stack_events", {"StackEvents": ROOT_EVENTS[:1]})
    result = run(
        "down", "--stack-name", "web", "--yes", "--disable-protection", with_clients=clients
    )
    assert result.code == 0, result.out
    assert (
        f"Readers added by auto scaling to {aurora}, deleted first: "
        f"application-autoscaling-{aurora}" in result.out
    )
    assert (
        "web/DatabaseStack/Cluster (AWS::RDS::DBCluster): a final snapshot is taken" in result.out
    )
    assert "web/DatabaseStack/Key (AWS::KMS::Key): it is retained" in result.out
    assert "Termination protection turned off." in result.out
    assert "Stack web: DELETE_COMPLETE" in result.out
    cluster = clients.rds.describe_db_clusters(DBClusterIdentifier=aurora)["DBClusters"][0]
    assert cluster["DeletionProtection"] is False
    assert [m["DBInstanceIdentifier"] for m in cluster["DBClusterMembers"]] == [f"{aurora}-writer"]
    # Replica auto scaling was suspended first, so it cannot add readers back during the delete.
    (target,) = clients.application_autoscaling.describe_scalable_targets(
        ServiceNamespace="rds", ResourceIds=[f"cluster:{aurora}"]
    )["ScalableTargets"]
    assert target["SuspendedState"] == {
        "DynamicScalingInSuspended": True,
        "DynamicScalingOutSuspended": True,
        "ScheduledScalingSuspended": True,
    }


def test_events_follow_streams_until_the_operation_ends(stubbed, run):
    """`events --follow` polls until the stack leaves UPDATE_IN_PROGRESS, printing new events."""
    stubber, clients = stubbed
    started = event("web", "web", "UPDATE_IN_PROGRESS", 100, "User Initiated")
    later = [
        event("web", "web", "UPDATE_COMPLETE", 104),
        event("web", "Topic", "UPDATE_COMPLETE", 103, type="AWS::SNS::Topic"),
        event("web", "Topic", "UPDATE_IN_PROGRESS", 101, type="AWS::SNS::Topic"),
    ]
    stubber.add_response("describe_stacks", stack_description("web", "UPDATE_IN_PROGRESS"))
    stubber.add_response("list_stack_resources", {"StackResourceSummaries": []})
    stubber.add_response("describe_stack_events", {"StackEvents": [started, *ROOT_EVENTS]})
    stubber.add_response("describe_stack_events", {"StackEvents": [*later, started]})
    stubber.add_response("describe_stacks", stack_description("web", "UPDATE_COMPLETE"))
    stubber.add_response("list_stack_resources", {"StackResourceSummaries": []})
    stubber.add_response("describe_stack_events", {"StackEvents": [*later, started]})
    result = run("events", "--stack-name", "web", "--follow", with_clients=clients)
    assert result.code == 0, result.out
    lines = result.out.splitlines()
    assert [line.split()[1] for line in lines[:4]] == [
        "UPDATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE", "UPDATE_COMPLETE",
    ]  # fmt: skip
    assert "web/Topic" in lines[2]
    assert lines[4] == "web: UPDATE_COMPLETE"
    assert "ROLLBACK" not in result.out  # the earlier operation is history


def test_failed_update_streams_nested_events_and_prints_the_root_cause(stubbed, up, name):
    """`up` follows root and nested events while the update runs, then names the nested
    resource that failed (not the parent's cascade) and exits 1 after the rollback."""
    stubber, clients = stubbed
    nested = f"{name}-NetworkStack-1ABC"
    root_cs, net_cs = "arn:aws:cloudformation:cs/root", "arn:aws:cloudformation:cs/net"
    old = event(name, name, "UPDATE_COMPLETE", 0)
    net = {"type": "AWS::CloudFormation::Stack", "physical": stack_arn(nested)}
    subnet = {"type": "AWS::EC2::Subnet"}
    root_first = [
        event(name, "NetworkStack", "UPDATE_IN_PROGRESS", 11, **net),
        event(name, name, "UPDATE_IN_PROGRESS", 10, "User Initiated"),
        old,
    ]
    root_then = [
        event(name, name, "UPDATE_ROLLBACK_COMPLETE", 40),
        event(name, "NetworkStack", "UPDATE_FAILED", 30,
              f"Embedded stack {stack_arn(nested)} was not successfully updated.", **net),
        *root_first,
    ]  # fmt: skip
    nested_first = [
        event(nested, "PublicSubnet", "UPDATE_FAILED", 20, SUBNET_REASON, **subnet),
        event(nested, nested, "UPDATE_IN_PROGRESS", 12, "User Initiated"),
        event(nested, nested, "CREATE_COMPLETE", 1),  # history: before this operation
    ]
    nested_then = [event(nested, nested, "UPDATE_ROLLBACK_COMPLETE", 35), *nested_first]

    stubber.add_response("describe_stacks", stack_description(name, "UPDATE_COMPLETE"))
    stubber.add_response("create_change_set", {"Id": root_cs, "StackId": stack_arn(name)})
    stubber.add_response("describe_change_set", {
        "ChangeSetId": root_cs, "StackId": stack_arn(name), "Status": "CREATE_COMPLETE",
        "Changes": [{"Type": "Resource", "ResourceChange": {
            "Action": "Modify", "LogicalResourceId": "NetworkStack",
            "ResourceType": "AWS::CloudFormation::Stack", "ChangeSetId": net_cs}}],
    })  # fmt: skip
    stubber.add_response("describe_change_set", {
        "ChangeSetId": net_cs, "StackId": stack_arn(nested), "Status": "CREATE_COMPLETE",
        "Changes": [{"Type": "Resource", "ResourceChange": {
            "Action": "Modify", "LogicalResourceId": "PublicSubnet",
            "ResourceType": "AWS::EC2::Subnet", "Replacement": "True"}}],
    })  # fmt: skip
    stubber.add_response("describe_stack_events", {"StackEvents": [old]})
    stubber.add_response("execute_change_set", {}, {"ChangeSetName": root_cs})
    stubber.add_response("describe_stack_events", {"StackEvents": root_first})
    stubber.add_response("describe_stack_events", {"StackEvents": nested_first})
    stubber.add_response("describe_stacks", stack_description(name, "UPDATE_IN_PROGRESS"))
    stubber.add_response("describe_stack_events", {"StackEvents": root_then})
    stubber.add_response("describe_stack_events", {"StackEvents": nested_then})
    stubber.add_response("describe_stacks", stack_description(name, "UPDATE_ROLLBACK_COMPLETE"))
    stubber.add_response("list_stack_resources", {"StackResourceSummaries": [
        resource("NetworkStack", "AWS::CloudFormation::Stack", stack_arn(nested)),
    ]})  # fmt: skip
    stubber.add_response("list_stack_resources", {"StackResourceSummaries": []})
    stubber.add_response("describe_stack_events", {"StackEvents": root_then})
    stubber.add_response("describe_stack_events", {"StackEvents": nested_then})

    result = up(with_clients=clients)
    assert result.code == 1
    assert "~ Modify  PublicSubnet (AWS::EC2::Subnet)  REPLACEMENT\n" in result.out
    streamed = [line for line in result.out.splitlines() if line.startswith("2026-01-05T09:00:")]
    assert [line.split()[1] for line in streamed] == [
        "UPDATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "UPDATE_FAILED",
        "UPDATE_FAILED", "UPDATE_ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_COMPLETE",
    ]  # fmt: skip
    assert f"{name}/NetworkStack/PublicSubnet" in streamed[3]
    assert f"Error: Update of stack {name} failed (UPDATE_ROLLBACK_COMPLETE)." in result.out
    assert "  resource: PublicSubnet (AWS::EC2::Subnet)\n" in result.out
    assert f"  stack:    {name}/NetworkStack ({stack_arn(nested)})" in result.out
    assert "rolled back to its previous state" in result.out


@pytest.mark.parametrize(
    ("statuses", "message"),
    [
        (["CREATE_PENDING", "DELETE_COMPLETE"], "the change set is DELETE_COMPLETE"),
        (["CREATE_IN_PROGRESS"] * 3, "still not ready after 0 minutes"),
    ],
)
def test_a_change_set_that_disappears_or_never_ends_is_reported(statuses, message, monkeypatch):
    """Waiting for a change set ends: on one deleted meanwhile, and after the deadline."""
    from deploy import deployer as deployer_module
    from deploy.exceptions import ChangeSetFailed

    monkeypatch.setattr(deployer_module, "CHANGE_SET_TIMEOUT_SECONDS", len(statuses))
    client = boto3.client("cloudformation")
    stubber = Stubber(client)
    for status in statuses:
        stubber.add_response(
            "describe_change_set",
            {"ChangeSetId": "cs-1", "StackId": stack_arn("web"), "Status": status, "Changes": []},
        )
    waiter = deployer_module.Deployer(client, poll_interval=1, sleep=lambda seconds: None)
    change_set = deployer_module.ChangeSet("cs-1", stack_arn("web"), "web", "UPDATE")
    with stubber, pytest.raises(ChangeSetFailed, match=message):
        waiter.wait_for_change_set(change_set)


def test_down_stops_when_reading_the_cluster_is_denied(stubbed, run, aurora):
    """A denied DescribeDBClusters is not "cluster gone": `down` stops, names the permission,
    and deletes nothing."""
    stubber, clients = stubbed
    stub_down_plan(stubber, aurora)
    rds = boto3.client("rds", region_name=REGION)
    with Stubber(rds) as rds_stubber:
        rds_stubber.add_client_error(
            "describe_db_clusters", "AccessDenied", "User x is not authorized to perform: "
            "rds:DescribeDBClusters", 403,
        )  # fmt: skip
        result = run(
            "down", "--stack-name", "web", "--yes", "--disable-protection",
            with_clients=dataclasses.replace(clients, rds=rds),
        )  # fmt: skip
    assert result.code == 1
    assert f"Cannot check DB cluster {aurora} before deleting" in result.out
    assert "allowed rds:DescribeDBClusters" in result.out
    assert "Nothing was deleted." in result.out
    cluster = clients.rds.describe_db_clusters(DBClusterIdentifier=aurora)["DBClusters"][0]
    assert cluster["DeletionProtection"] is True  # untouched


def test_a_failed_delete_turns_the_protection_down_lifted_back_on(stubbed, run, aurora):
    """When the delete ends DELETE_FAILED, `down` turns termination protection and the cluster's
    deletion protection back on, and says so."""
    stubber, clients = stubbed
    stub_down_until_delete(stubber, aurora)
    failed = [
        event("web", "web", "DELETE_FAILED", 90, "The following resource(s) failed to delete: "
              "[Bucket]."),
        event("web", "Bucket", "DELETE_FAILED", 85, "The bucket you tried to delete is not "
              "empty", type="AWS::S3::Bucket"),
        event("web", "web", "DELETE_IN_PROGRESS", 80, "User Initiated"),
        *ROOT_EVENTS[:1],
    ]  # fmt: skip
    stubber.add_response("describe_stack_events", {"StackEvents": failed})
    stubber.add_response("describe_stacks", stack_description("web", "DELETE_FAILED"))
    stubber.add_response("list_stack_resources", {"StackResourceSummaries": []})
    stubber.add_response("describe_stack_events", {"StackEvents": failed})
    stub_termination_protection(stubber, True)
    result = run(
        "down", "--stack-name", "web", "--yes", "--disable-protection", with_clients=clients
    )
    assert result.code == 1
    assert "Deletion of stack web failed (DELETE_FAILED)." in result.out
    assert "The bucket you tried to delete is not empty" in result.out
    assert "Termination protection turned back on (the stack was not deleted)." in result.out
    cluster = clients.rds.describe_db_clusters(DBClusterIdentifier=aurora)["DBClusters"][0]
    assert cluster["DeletionProtection"] is True


CHILD_CS = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/db-cs/0f1e2d3c-aaaa-bbbb"
CHILD_REASON = "Parameters: [DbInstanceClass] must have values"
ROOT_REASON = f"Nested change set {CHILD_CS} was not successfully created: Currently in FAILED."


@pytest.mark.parametrize("root_lists_the_child", [True, False])
def test_a_failed_nested_change_set_prints_the_childs_own_reason(
    stubbed, up, name, root_lists_the_child
):
    """When a nested change set fails, the error names the nested stack and its own reason, not
    only the root's "was not successfully created"; found in the tree or through the ARN."""
    stubber, clients = stubbed
    stubber.add_response("describe_stacks", stack_description(name, "UPDATE_COMPLETE"))
    stubber.add_response("create_change_set", {"Id": "cs-root", "StackId": stack_arn(name)})
    changes = [{"Type": "Resource", "ResourceChange": {
        "Action": "Modify", "LogicalResourceId": "DatabaseStack",
        "ResourceType": "AWS::CloudFormation::Stack", "ChangeSetId": CHILD_CS}}]  # fmt: skip
    stubber.add_response("describe_change_set", {
        "ChangeSetId": "cs-root", "StackId": stack_arn(name), "StackName": name,
        "Status": "FAILED", "StatusReason": ROOT_REASON,
        "Changes": changes if root_lists_the_child else [],
    })  # fmt: skip
    stubber.add_response("describe_change_set", {
        "ChangeSetId": CHILD_CS, "StackId": stack_arn(DB_STACK), "StackName": DB_STACK,
        "Status": "FAILED", "StatusReason": CHILD_REASON, "Changes": [],
    }, {"ChangeSetName": CHILD_CS})  # fmt: skip
    result = up(with_clients=clients)
    assert result.code == 1
    where = f"{name}/DatabaseStack" if root_lists_the_child else f"{name}/{DB_STACK}"
    assert f"nested stack {where}: {CHILD_REASON}" in result.out
    assert "Fix the template or parameters and run again." in result.out


def change(action, logical, kind, replacement=None, nested=None, **extra):
    """A change set's Changes entry."""
    detail = {"Action": action, "LogicalResourceId": logical, "ResourceType": kind, **extra}
    detail |= {"Replacement": replacement} if replacement else {}
    detail |= {"ChangeSetId": nested} if nested else {}
    return {"Type": "Resource", "ResourceChange": detail}


def dynamic(source, entity, recreation="Never"):
    """A Details entry whose value is known only while executing."""
    return {"Target": {"Attribute": "Properties", "Name": "X", "RequiresRecreation": recreation},
            "Evaluation": "Dynamic", "ChangeSource": source, "CausingEntity": entity}  # fmt: skip


def stub_preview(stubber, name, root_changes, *nested):
    """An UPDATE `up --no-execute` whose root change set has ``root_changes`` and whose nested
    change sets (in order) have the given changes."""
    stubber.add_response("describe_stacks", stack_description(name, "UPDATE_COMPLETE"))
    stubber.add_response("create_change_set", {"Id": "cs-root", "StackId": stack_arn(name)})
    for cs_id, changes in [("cs-root", root_changes), *nested]:
        stubber.add_response("describe_change_set", {
            "ChangeSetId": cs_id, "StackId": stack_arn(name), "Status": "CREATE_COMPLETE",
            "Changes": changes,
        }, {"ChangeSetName": cs_id})  # fmt: skip


def test_a_removed_nested_stack_that_holds_a_cluster_is_data_at_risk(stubbed, up, name):
    """Removing DatabaseStack (no nested change set for it) warns about the cluster inside it."""
    stubber, clients = stubbed
    stub_preview(stubber, name, [
        change("Remove", "DatabaseStack", "AWS::CloudFormation::Stack",
               PhysicalResourceId=stack_arn(DB_STACK), PolicyAction="Delete"),
    ])  # fmt: skip
    stubber.add_response("list_stack_resources", {"StackResourceSummaries": [
        resource("Cluster", "AWS::RDS::DBCluster", "cluster-1"),
        resource("Alarm", "AWS::CloudWatch::Alarm", "alarm-1"),
    ]}, {"StackName": stack_arn(DB_STACK)})  # fmt: skip
    result = up("--no-execute", with_clients=clients)
    assert result.code == 0, result.out
    assert (
        "- Remove  DatabaseStack (AWS::CloudFormation::Stack)  policy: Delete  !! DATA AT RISK"
        in result.out
    )
    assert f"{name}/DatabaseStack (AWS::CloudFormation::Stack) is removed\n" in result.out
    assert f"    with {name}/DatabaseStack/Cluster (AWS::RDS::DBCluster)\n" in result.out
    assert "Alarm" not in result.out.split("WARNING")[1]


@pytest.mark.parametrize(
    ("network_changes", "cluster_detail", "at_risk"),
    [
        ([], dynamic("ParameterReference", "VpcId", "Always"), False),  # sibling unchanged
        ([change("Modify", "Vpc", "AWS::EC2::VPC", "True")],
         dynamic("ParameterReference", "VpcId", "Always"), True),  # sibling changes: may be
        ([], dynamic("ResourceAttribute", "Key.Arn", "Conditionally"), False),  # Key unchanged
        ([], {"Target": {"Attribute": "Properties", "Name": "Port",
                         "RequiresRecreation": "Always"},
              "Evaluation": "Static", "ChangeSource": "DirectModification"}, True),
    ],
)  # fmt: skip
def test_conditional_replacement_is_judged_from_details(
    stubbed, up, name, network_changes, cluster_detail, at_risk
):
    """A Conditional replacement that comes only from values that do not change (a sibling's
    output, through a parameter, with nothing to change in the sibling) is not flagged; one from
    a sibling that changes, or from a static change, is."""
    stubber, clients = stubbed
    stub_preview(
        stubber,
        name,
        [
            change("Modify", "NetworkStack", "AWS::CloudFormation::Stack", "False", "cs-net"),
            change("Modify", "DatabaseStack", "AWS::CloudFormation::Stack", "False", "cs-db",
                   Details=[dynamic("ResourceAttribute", "NetworkStack.Outputs.VpcId")]),
        ],
        ("cs-net", network_changes),
        ("cs-db", [change("Modify", "Cluster", "AWS::RDS::DBCluster", "Conditional",
                          PolicyAction="ReplaceAndSnapshot", Details=[cluster_detail])]),
    )  # fmt: skip
    result = up("--no-execute", with_clients=clients)
    assert result.code == 0, result.out
    assert "policy: ReplaceAndSnapshot" in result.out
    if at_risk:
        assert "Cluster (AWS::RDS::DBCluster)  may be replaced" in result.out
        assert (
            f"{name}/DatabaseStack/Cluster (AWS::RDS::DBCluster) is possibly replaced (a "
            "snapshot of the old one is taken first)" in result.out
        )
    else:
        assert "(Conditional: only from values that do not change)" in result.out
        assert "DATA AT RISK" not in result.out and "WARNING" not in result.out


def test_events_of_a_create_failed_stack_name_the_cause_and_the_way_on(stubbed, run):
    """A first create kept by DO_NOTHING ends CREATE_FAILED with nothing rolled back: `events`
    names the failed nested resource (not the cascade) and exits 1."""
    stubber, clients = stubbed
    failed = [
        event("web", "web", "CREATE_FAILED", 31,
              "The following resource(s) failed to create: [NetworkStack]."),
        event("web", "NetworkStack", "CREATE_FAILED", 30,
              f"Embedded stack {stack_arn(NESTED)} was not successfully created: The following "
              "resource(s) failed to create: [PublicSubnet].",
              type="AWS::CloudFormation::Stack", physical=stack_arn(NESTED)),
        *ROOT_EVENTS[-3:],  # the nested stack's start, the create's start, the review
    ]  # fmt: skip
    nested = [
        event(NESTED, NESTED, "CREATE_FAILED", 21, "The following resource(s) failed to "
              "create: [PublicSubnet]."),
        event(NESTED, "PublicSubnet", "CREATE_FAILED", 20, SUBNET_REASON, type="AWS::EC2::Subnet"),
        event(NESTED, "Vpc", "CREATE_COMPLETE", 15, type="AWS::EC2::VPC"),  # kept, not rolled back
        event(NESTED, NESTED, "CREATE_IN_PROGRESS", 3, "User Initiated"),
    ]  # fmt: skip
    stubber.add_response("describe_stacks", stack_description("web", "CREATE_FAILED"))
    stubber.add_response("list_stack_resources", {"StackResourceSummaries": [
        resource("NetworkStack", "AWS::CloudFormation::Stack", stack_arn(NESTED), "CREATE_FAILED"),
    ]})  # fmt: skip
    stubber.add_response("list_stack_resources", {"StackResourceSummaries": []})
    stubber.add_response("describe_stack_events", {"StackEvents": failed})
    stubber.add_response(
        "describe_stack_events", {"StackEvents": nested}, {"StackName": stack_arn(NESTED)}
    )
    result = run("events", "--stack-name", "web", with_clients=clients)
    assert result.code == 1
    assert "web: CREATE_FAILED" in result.out
    assert "  resource: PublicSubnet (AWS::EC2::Subnet)\n  status:   CREATE_FAILED" in result.out
    assert "ROLLBACK" not in result.out


def test_readers_that_never_go_stop_down_with_the_stack_untouched():
    """remove_readers gives up after its deadline, naming the readers, instead of waiting
    forever; `down` has turned no protection off by then (it runs first)."""
    from deploy import teardown
    from deploy.exceptions import ReadersStillThere
    from deploy.retry import Retrying

    rds = boto3.client("rds", region_name=REGION)
    stubber = Stubber(rds)
    stubber.add_response("delete_db_instance", {"DBInstance": {"DBInstanceIdentifier": "r1"}})
    for _ in range(2):
        stubber.add_response(
            "describe_db_instances",
            {"DBInstances": [{"DBInstanceIdentifier": "r1", "DBInstanceStatus": "deleting"}]},
        )
    now = [0.0]

    def clock():
        return now[0]

    def sleep(seconds):
        now[0] += seconds

    with stubber, pytest.raises(ReadersStillThere, match="r1"):
        teardown.remove_readers(
            rds, {"c1": ["r1"]}, Retrying(sleep=sleep), sleep, teardown.READERS_DEADLINE, clock
        )
