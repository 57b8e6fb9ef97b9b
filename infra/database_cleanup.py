"""The database stack's reader clean-up: a custom resource whose Lambda removes the readers
Aurora Auto Scaling added, on stack delete and on the switch of DbReaderAutoScaling to Disabled.

RDS creates those readers outside the stack, so without it a console delete fails on the
cluster (it still has instances) and switching auto scaling off leaves them running and billed.
The handler's source is ``infra/handlers/reader_cleanup.py`` (tested as a module), inlined as
the function's ZipFile. The function runs outside the VPC: it only calls the RDS and
Application Auto Scaling APIs, which the isolated subnets have no route to.
"""

from __future__ import annotations

from pathlib import Path

from awacs import application_autoscaling, logs, rds
from awacs.aws import Allow, PolicyDocument, Statement
from troposphere import GetAtt, Ref, Sub, Template
from troposphere.awslambda import Code, Function, LoggingConfig
from troposphere.cloudformation import CustomResource
from troposphere.iam import Policy, Role

from .common import assumed_by, checkov_skip, guard_suppress, log_group

HANDLER_SOURCE = Path(__file__).parent / "handlers" / "reader_cleanup.py"
# CloudFormation's limit for inline Lambda code (AWS::Lambda::Function Code.ZipFile).
ZIP_FILE_LIMIT = 4096
# Deleting an Aurora instance takes minutes; the handler replies 30 s before this, and
# CloudFormation gives up a minute after it (ServiceTimeout) instead of its one-hour default.
TIMEOUT_SECONDS = 900
AUTO_SCALED_PREFIX = "application-autoscaling-"


def handler_source() -> str:
    """The handler's source, checked against the inline code limit."""
    source = HANDLER_SOURCE.read_text(encoding="utf-8")
    if len(source) > ZIP_FILE_LIMIT:
        raise ValueError(
            f"{HANDLER_SOURCE.name} has {len(source)} characters; inline Lambda code (ZipFile) "
            f"takes at most {ZIP_FILE_LIMIT}: shorten it"
        )
    return source


def _policy() -> PolicyDocument:
    db_arn = "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:db:"
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="ListClusterInstances",
                Effect=Allow,
                Action=[rds.DescribeDBInstances],
                Resource=[Sub(db_arn + "*")],
            ),
            Statement(
                # Only what auto scaling added: the template's instances are named otherwise.
                Sid="DeleteAutoScaledReaders",
                Effect=Allow,
                Action=[rds.DeleteDBInstance],
                Resource=[Sub(db_arn + AUTO_SCALED_PREFIX + "*")],
            ),
            Statement(
                # Describe takes no resource ARN (Service Authorization Reference).
                Sid="FindReplicaTarget",
                Effect=Allow,
                Action=[application_autoscaling.DescribeScalableTargets],
                Resource=["*"],
            ),
            Statement(
                Sid="DeregisterReplicaTarget",
                Effect=Allow,
                Action=[application_autoscaling.DeregisterScalableTarget],
                Resource=[
                    Sub(
                        "arn:${AWS::Partition}:application-autoscaling:${AWS::Region}:"
                        "${AWS::AccountId}:scalable-target/*"
                    )
                ],
            ),
            Statement(
                Sid="WriteOwnLogs",
                Effect=Allow,
                Action=[logs.CreateLogStream, logs.PutLogEvents],
                Resource=[GetAtt("ReaderCleanupLogGroup", "Arn")],
            ),
        ],
    )


def add_reader_cleanup(template: Template, *, key: str, cluster: str, switch: str) -> None:
    """Add the clean-up of ``cluster``'s auto-scaled readers, driven by parameter ``switch``;
    its logs are encrypted with the stack's key ``key`` (whose policy lets CloudWatch Logs use
    it) and kept for LogRetentionDays."""
    template.add_resource(
        log_group(
            "ReaderCleanupLogGroup", key, DeletionPolicy="Delete", UpdateReplacePolicy="Delete"
        )
    )
    template.add_resource(
        Role(
            "ReaderCleanupRole",
            AssumeRolePolicyDocument=assumed_by("lambda.amazonaws.com"),
            # Inline, so the policy lives exactly as long as the role the function runs with.
            Policies=[Policy(PolicyName="reader-cleanup", PolicyDocument=_policy())],
        )
    )
    template.add_resource(
        Function(
            "ReaderCleanupFunction",
            Description=Sub("Removes auto-scaled Aurora readers of ${AWS::StackName}"),
            Runtime="python3.12",
            Architectures=["arm64"],
            Handler="index.handler",
            Code=Code(ZipFile=handler_source()),
            Role=GetAtt("ReaderCleanupRole", "Arn"),
            Timeout=TIMEOUT_SECONDS,
            MemorySize=128,
            LoggingConfig=LoggingConfig(LogGroup=Ref("ReaderCleanupLogGroup")),
            Metadata=checkov_skip(
                "CKV_AWS_117",
                "Outside the VPC by design: it only calls the RDS and Auto Scaling APIs",
                "CKV_AWS_116",
                "Called by CloudFormation, which gets every failure back as FAILED",
                "CKV_AWS_115",
                "Runs once per stack operation; a reservation would shrink the account's pool",
            )
            | guard_suppress(
                "lambda_inside_vpc_check",
                "Outside the VPC by design: it only calls the RDS and Auto Scaling APIs, which "
                "the isolated subnets cannot reach",
            ),
        )
    )
    template.add_resource(
        CustomResource(
            "ReaderCleanup",
            ServiceToken=GetAtt("ReaderCleanupFunction", "Arn"),
            ServiceTimeout=TIMEOUT_SECONDS + 60,
            ClusterId=Ref(cluster),
            AutoScaling=Ref(switch),
        )
    )
