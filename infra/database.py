"""The database stack: Aurora MySQL 3, a writer plus readers across AZs, in the isolated subnets.

Storage, Performance Insights and the master secret are encrypted with the stack's own KMS key,
which outlives the stack so that retained snapshots stay restorable. RDS creates and rotates the
master secret (``ManageMasterUserPassword``): no rotation Lambda and no transform, which nested
change sets cannot take. The master only migrates; the site connects as the application user,
whose secret the stack generates (``DbSecretArn``) and whose grants migrate maintains. Readers
are the template's (a parameter, 0 to 15) plus, when enabled, those Application Auto Scaling
adds on reader CPU. The latter live outside the stack: RDS creates them, so the reader clean-up
custom resource (``database_cleanup``) removes them on a stack delete and when auto scaling is
switched off.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from awacs import kms
from awacs.aws import (
    PolicyDocument,
    StringLike,
)
from troposphere import (
    Equals,
    FindInMap,
    GetAtt,
    GetAZs,
    If,
    Join,
    Or,
    Output,
    Ref,
    Select,
    Split,
    Sub,
    Tags,
    Template,
)
from troposphere.applicationautoscaling import (
    PredefinedMetricSpecification,
    ScalableTarget,
    ScalingPolicy,
    TargetTrackingScalingPolicyConfiguration,
)
from troposphere.iam import Role
from troposphere.rds import (
    DBCluster,
    DBClusterParameterGroup,
    DBInstance,
    DBSubnetGroup,
    MasterUserSecret,
)
from troposphere.secretsmanager import GenerateSecretString, Secret

from .common import (
    account_grants_via,
    account_uses_key_via,
    add_log_retention,
    add_parameter,
    assumed_by,
    group_log_retention,
    guard_suppress,
    key_admin_statement,
    log_group,
    logs_key_statement,
    new_template,
    rotating_key,
    set_parameter_groups,
    source_account,
)
from .database_cleanup import add_reader_cleanup
from .security import DB_PORT

# The logs the cluster exports to CloudWatch Logs. Not the general log: it records every
# statement, costs more than it tells, and the audit log covers connections, grants and DDL.
LOG_EXPORTS = ("audit", "error", "slowquery")
AUDIT_EVENTS = "CONNECT,QUERY_DCL,QUERY_DDL"

# Output names: the root wires these into the app and monitoring stacks and its own outputs.
WRITER_ENDPOINT = "WriterEndpoint"
READER_ENDPOINT = "ReaderEndpoint"
DB_PORT_OUTPUT = "DbPort"
DB_NAME = "DbName"
DB_SECRET_ARN = "DbSecretArn"  # noqa: S105 (an output name: the application user's secret)
DB_MASTER_SECRET_ARN = "DbMasterSecretArn"  # noqa: S105 (an output name: the master's secret)
DB_KMS_KEY_ARN = "DbKmsKeyArn"
DB_SECURITY_GROUP_ID = "DbSecurityGroupId"
DB_CLUSTER_ID = "DbClusterId"
DB_INSTANCE_IDS = "DbInstanceIds"

ENGINE = "aurora-mysql"
PARAMETER_GROUP_FAMILY = "aurora-mysql8.0"
MAX_READERS = 15
# The site's runtime database user (SELECT, INSERT, UPDATE, DELETE only), created and kept by the
# locked migrate from the stack-generated secret; the master user only migrates.
APP_DB_USER = "employees_app"
MAX_AZS = 3
# Condition names.
THREE_AZS = "ThreeAzs"
READER_AUTO_SCALING = "ReaderAutoScalingEnabled"
READERS_MAPPING = "ReadersByCount"

# Instance classes offered in the console: Graviton memory-optimized classes that support
# Performance Insights and are offered for Aurora MySQL 3 in every commercial Region.
INSTANCE_CLASSES = (
    "db.r6g.large",
    "db.r6g.xlarge",
    "db.r6g.2xlarge",
    "db.r6g.4xlarge",
    "db.r6g.8xlarge",
)
# Aurora MySQL 3.10 is a long-term support release (Aurora user guide, "Long-term support (LTS)
# and beta releases for Amazon Aurora MySQL"); 3.10.4 is its patch of 2026-03-30.
ENGINE_VERSION = "8.0.mysql_aurora.3.10.4"
_ENGINE_VERSION = re.compile(r"^8\.0\.mysql_aurora\.3\.\d{2}\.\d+$")
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,15}$")
PERFORMANCE_INSIGHTS_DAYS = (7, 731)
MONITORING_INTERVALS = (1, 5, 10, 15, 30, 60)


@dataclass(frozen=True)
class DatabaseParams:
    """Build options of the database stack (fixed per build, not per deployment)."""

    engine_version: str = ENGINE_VERSION
    database_name: str = "employees"
    master_username: str = "employees_admin"
    monitoring_interval: int = 60
    performance_insights_days: int = 7

    def __post_init__(self) -> None:
        if not isinstance(self.engine_version, str) or not _ENGINE_VERSION.match(
            self.engine_version
        ):
            raise ValueError(
                f"engine_version={self.engine_version!r} is not an Aurora MySQL 3 version "
                "such as 8.0.mysql_aurora.3.10.4"
            )
        for name in ("database_name", "master_username"):
            value = getattr(self, name)
            if not isinstance(value, str) or not _IDENTIFIER.match(value):
                raise ValueError(
                    f"{name}={value!r} must be 1 to 16 letters, digits or underscores, "
                    "starting with a letter"
                )
        if self.monitoring_interval not in MONITORING_INTERVALS:
            raise ValueError(
                f"monitoring_interval={self.monitoring_interval!r} must be one of "
                f"{MONITORING_INTERVALS} (seconds; enhanced monitoring is always on)"
            )
        if self.performance_insights_days not in PERFORMANCE_INSIGHTS_DAYS:
            raise ValueError(
                f"performance_insights_days={self.performance_insights_days!r} must be one of "
                f"{PERFORMANCE_INSIGHTS_DAYS}"
            )


def reader_condition(index: int) -> str:
    """Name of the condition under which reader ``index`` (1-based) exists."""
    return f"HasReader{index}"


def _add_parameters(template: Template) -> None:
    add_parameter(
        template,
        "IsolatedSubnetIds",
        label="Isolated subnets",
        description="Subnets without any route out of the VPC, one per AZ, for the database.",
        constraint_description="must be IDs of existing subnets",
        Type="List<AWS::EC2::Subnet::Id>",
    )
    add_parameter(
        template,
        "AzCount",
        label="Availability Zones",
        description="How many AZs the isolated subnets span (the first ones of Fn::GetAZs).",
        constraint_description="must be 2 or 3",
        Type="String",
        AllowedValues=["2", "3"],
    )
    add_parameter(
        template,
        DB_SECURITY_GROUP_ID,
        label="Database security group",
        description="Security group of the cluster: 3306 from the app instances only.",
        constraint_description="must be the ID of an existing security group",
        Type="AWS::EC2::SecurityGroup::Id",
    )
    add_parameter(
        template,
        "DbInstanceClass",
        label="DB instance class",
        description="Instance class of the writer and of every reader (auto-scaled ones too).",
        constraint_description="must be one of the listed Graviton memory-optimized classes",
        Type="String",
        Default=INSTANCE_CLASSES[0],
        AllowedValues=list(INSTANCE_CLASSES),
    )
    add_reader_count(template)
    add_parameter(
        template,
        "DbBackupRetentionDays",
        label="Backup retention (days)",
        description="Days of automated backups (point-in-time recovery window).",
        constraint_description="must be from 7 to 35",
        Type="Number",
        Default=7,
        MinValue=7,
        MaxValue=35,
    )
    add_parameter(
        template,
        "DbDeletionProtection",
        label="Deletion protection",
        description=(
            "true: the cluster (its data) cannot be deleted until this is changed to false by "
            "a stack update. Deleting the stack still removes the app and the DB instances "
            "first: turn on the root stack's termination protection too."
        ),
        constraint_description="must be true or false",
        Type="String",
        Default="true",
        AllowedValues=["true", "false"],
    )
    add_parameter(
        template,
        "DbReaderAutoScaling",
        label="Reader auto scaling",
        description="Enabled: Aurora adds and removes readers to hold reader CPU at the target.",
        constraint_description="must be Enabled or Disabled",
        Type="String",
        Default="Enabled",
        AllowedValues=["Enabled", "Disabled"],
    )
    add_parameter(
        template,
        "DbReaderMinCapacity",
        label="Auto scaling: minimum readers",
        description="Fewest readers auto scaling keeps (readers this stack creates count).",
        constraint_description=f"must be from 0 to {MAX_READERS}",
        Type="Number",
        Default=1,
        MinValue=0,
        MaxValue=MAX_READERS,
    )
    add_parameter(
        template,
        "DbReaderMaxCapacity",
        label="Auto scaling: maximum readers",
        description="Most readers auto scaling may reach (readers this stack creates count).",
        constraint_description=f"must be from 1 to {MAX_READERS}",
        Type="Number",
        Default=4,
        MinValue=1,
        MaxValue=MAX_READERS,
    )
    add_parameter(
        template,
        "DbReaderCpuTarget",
        label="Auto scaling: reader CPU target (%)",
        description="Average reader CPU utilization that auto scaling holds.",
        constraint_description="must be from 20 to 90",
        Type="Number",
        Default=60,
        MinValue=20,
        MaxValue=90,
    )
    set_parameter_groups(
        template,
        [
            (
                "Database",
                [
                    "DbInstanceClass",
                    "DbReaderCount",
                    "DbBackupRetentionDays",
                    "DbDeletionProtection",
                    "DbReaderAutoScaling",
                    "DbReaderMinCapacity",
                    "DbReaderMaxCapacity",
                    "DbReaderCpuTarget",
                ],
            ),
            ("Database wiring", ["IsolatedSubnetIds", "AzCount", DB_SECURITY_GROUP_ID]),
        ],
    )


def add_reader_count(template: Template) -> None:
    """The DbReaderCount parameter; a stack that declares it too gets the root's one value."""
    add_parameter(
        template,
        "DbReaderCount",
        label="Readers",
        description=(
            "Reader instances besides the writer, spread over the AZs. 0 leaves no failover "
            "target: the reader endpoint then serves from the writer."
        ),
        constraint_description=f"must be a whole number from 0 to {MAX_READERS}",
        Type="String",
        Default="1",
        AllowedValues=[str(count) for count in range(MAX_READERS + 1)],
    )


def _add_conditions(template: Template) -> None:
    template.add_condition(THREE_AZS, Equals(Ref("AzCount"), "3"))
    template.add_condition(READER_AUTO_SCALING, Equals(Ref("DbReaderAutoScaling"), "Enabled"))
    add_reader_conditions(template)


def add_reader_conditions(template: Template) -> None:
    """The HasReader<n> conditions of DbReaderCount (for any stack that declares it)."""
    # Reader n exists when the count is n or more. A mapping row per count says which readers
    # exist: one independent Fn::Equals per reader keeps cfn-lint's condition solver fast
    # (Equals on the count itself made it weigh every combination of 16 values).
    template.add_mapping(
        READERS_MAPPING,
        {
            str(count): {
                f"Reader{index}": "true" if index <= count else "false"
                for index in range(1, MAX_READERS + 1)
            }
            for count in range(MAX_READERS + 1)
        },
    )
    for index in range(1, MAX_READERS + 1):
        template.add_condition(
            reader_condition(index),
            Equals(FindInMap(READERS_MAPPING, Ref("DbReaderCount"), f"Reader{index}"), "true"),
        )


def _add_rules(template: Template) -> None:
    template.add_rule(
        "DbReaderCapacityInOrder",
        {
            "RuleCondition": Equals(Ref("DbReaderAutoScaling"), "Enabled"),
            "Assertions": [
                {
                    "Assert": _min_not_above_max(),
                    "AssertDescription": (
                        "Auto scaling: minimum readers must not exceed maximum readers"
                    ),
                }
            ],
        },
    )


def _min_not_above_max() -> object:
    """Rule assertion "min <= max" for two numbers 0..15 (Rules have no comparison function):
    for each max value m, min is one of 0..m."""
    options = []
    for high in range(1, MAX_READERS + 1):
        options.append(
            {
                "Fn::And": [
                    Equals(Ref("DbReaderMaxCapacity"), str(high)),
                    {
                        "Fn::Contains": [
                            [str(low) for low in range(high + 1)],
                            Ref("DbReaderMinCapacity"),
                        ]
                    },
                ]
            }
        )
    # Fn::Or takes at most 10 conditions: nest the 15 options in two levels.
    return Or(Or(*options[:8]), Or(*options[8:]))


_KEY_ACTIONS = [
    kms.Decrypt,
    kms.DescribeKey,
    kms.Encrypt,
    kms.GenerateDataKey,
    kms.GenerateDataKeyWithoutPlaintext,
    kms.ReEncryptFrom,
    kms.ReEncryptTo,
]


def secret_arn_patterns() -> list[Sub]:
    """The ARNs of the stack's two database secrets, as patterns: the key cannot name them
    exactly, since both are encrypted with it (a cycle). RDS names the master secret
    ``rds!cluster-<id>``; the app user's secret is named after the stack."""
    prefix = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
    return [Sub(prefix + "rds!cluster-*"), Sub(prefix + "${AWS::StackName}-app-db-*")]


def _key_policy() -> PolicyDocument:
    secrets = account_uses_key_via(
        "AccountUsesKeyThroughSecretsManagerForTheTwoSecrets", ("secretsmanager",), _KEY_ACTIONS
    )
    # Secrets Manager puts the secret's ARN in the encryption context of every call it makes.
    secrets.Condition.conditions.append(
        StringLike("kms:EncryptionContext:SecretARN", secret_arn_patterns())
    )
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            key_admin_statement(),
            logs_key_statement(),
            # On behalf of RDS (storage, Performance Insights) and Secrets Manager (the master
            # secret and the application user's) only; grants only for their own resources.
            account_uses_key_via("AccountUsesKeyThroughRds", ("rds",), _KEY_ACTIONS),
            secrets,
            account_grants_via(
                "RdsAndSecretsManagerGrantForTheirResources", ("rds", "secretsmanager")
            ),
        ],
    )


def _add_key(template: Template) -> None:
    template.add_resource(
        # Retained with the stack's snapshots: a snapshot is useless without its key.
        rotating_key(
            "DbKey",
            "Aurora storage, Performance Insights and secret of ${AWS::StackName}",
            _key_policy(),
            retain=True,
        )
    )


def _add_monitoring_role(template: Template) -> None:
    template.add_resource(
        Role(
            "MonitoringRole",
            AssumeRolePolicyDocument=assumed_by("monitoring.rds.amazonaws.com", source_account()),
            # The AWS managed policy of enhanced monitoring: it only writes to the RDSOSMetrics
            # log group.
            ManagedPolicyArns=[
                Sub(
                    "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                    "AmazonRDSEnhancedMonitoringRole"
                )
            ],
        )
    )


def _add_cluster(template: Template, params: DatabaseParams) -> None:
    template.add_resource(
        DBSubnetGroup(
            "DbSubnetGroup",
            DBSubnetGroupDescription=Sub("Isolated subnets of ${AWS::StackName}"),
            SubnetIds=Ref("IsolatedSubnetIds"),
        )
    )
    template.add_resource(
        DBClusterParameterGroup(
            "DbClusterParameterGroup",
            Description=Sub(
                "TLS-only Aurora MySQL 3 with the slow query and audit logs, ${AWS::StackName}"
            ),
            Family=PARAMETER_GROUP_FAMILY,
            Parameters={
                "require_secure_transport": "ON",
                "slow_query_log": "1",
                "long_query_time": "1",
                # FILE: the log export to CloudWatch Logs reads the log files.
                "log_output": "FILE",
                "server_audit_logging": "1",
                "server_audit_events": AUDIT_EVENTS,
            },
        )
    )
    key_arn = GetAtt("DbKey", "Arn")
    template.add_resource(
        DBCluster(
            "DbCluster",
            DBClusterIdentifier=_cluster_identifier(),
            # RDS would create missing log groups itself, unencrypted and kept forever.
            DependsOn=[_log_group_id(kind) for kind in LOG_EXPORTS],
            Engine=ENGINE,
            EngineVersion=params.engine_version,
            # Fail rather than slip into paid RDS Extended Support when the version ages out.
            EngineLifecycleSupport="open-source-rds-extended-support-disabled",
            DatabaseName=params.database_name,
            MasterUsername=params.master_username,
            ManageMasterUserPassword=True,
            MasterUserSecret=MasterUserSecret(KmsKeyId=key_arn),
            Port=DB_PORT,
            DBSubnetGroupName=Ref("DbSubnetGroup"),
            VpcSecurityGroupIds=[Ref(DB_SECURITY_GROUP_ID)],
            DBClusterParameterGroupName=Ref("DbClusterParameterGroup"),
            StorageEncrypted=True,
            KmsKeyId=key_arn,
            EnableIAMDatabaseAuthentication=True,
            BackupRetentionPeriod=Ref("DbBackupRetentionDays"),
            DeletionProtection=Ref("DbDeletionProtection"),
            CopyTagsToSnapshot=True,
            EnableCloudwatchLogsExports=list(LOG_EXPORTS),
            Tags=Tags(Name=Sub("${AWS::StackName}-db")),
            Metadata=guard_suppress(
                "rds_cluster_logging_enabled_check",
                "Exports the audit, error and slow-query logs; not the general log of every "
                "statement, whose cost would outweigh what the audit log does not already say",
                "rds_cluster_deletion_protection_enabled_check",
                "DeletionProtection is the DbDeletionProtection parameter, which Guard cannot read",
                "aurora_cluster_backtracking_enabled_check",
                "Point-in-time restore from the backups recovers data; backtrack would rewind the "
                "whole cluster in place and bill every change record it keeps",
            ),
            DeletionPolicy="Snapshot",
            UpdateReplacePolicy="Snapshot",
        )
    )


def _add_app_user_secret(template: Template) -> None:
    """The application user's secret: generated by the stack, same JSON shape as the master's,
    a password of letters and digits only (nothing to quote in a DSN or a shell)."""
    template.add_resource(
        Secret(
            "AppDbSecret",
            Name=Sub("${AWS::StackName}-app-db"),
            Description=Sub(
                f"Database user {APP_DB_USER} of ${{AWS::StackName}} (SELECT, INSERT, UPDATE, "
                "DELETE); migrate creates it from this secret"
            ),
            KmsKeyId=GetAtt("DbKey", "Arn"),
            GenerateSecretString=GenerateSecretString(
                SecretStringTemplate=json.dumps({"username": APP_DB_USER}),
                GenerateStringKey="password",
                PasswordLength=40,
                ExcludePunctuation=True,
                RequireEachIncludedType=True,
            ),
            DeletionPolicy="Delete",
            UpdateReplacePolicy="Delete",
        )
    )


def _cluster_identifier() -> Sub:
    """The cluster's identifier, known before the cluster exists so its log groups can be made
    first: unique per stack (the stack ID's UUID) and lower case, as RDS stores identifiers."""
    return Sub("db-${Id}", Id=Select(2, Split("/", Ref("AWS::StackId"))))


def _log_group_id(kind: str) -> str:
    return f"DbLogGroup{kind.capitalize()}"


def _add_log_groups(template: Template) -> None:
    """The log groups the cluster exports to, at the names RDS writes to, under the stack's
    key. Retained like the snapshot: the audit trail outlives the cluster."""
    add_log_retention(template)
    group_log_retention(template)
    for kind in LOG_EXPORTS:
        template.add_resource(
            log_group(
                _log_group_id(kind),
                "DbKey",
                LogGroupName=Sub(
                    f"/aws/rds/cluster/${{ClusterId}}/{kind}", ClusterId=_cluster_identifier()
                ),
                DeletionPolicy="Retain",
                UpdateReplacePolicy="Retain",
            )
        )


def _az(index: int) -> object:
    """The AZ of instance ``index`` (0 = writer): round robin over the stack's AZs."""
    if index % MAX_AZS == index % 2:
        return Select(index % 2, GetAZs(""))
    return If(THREE_AZS, Select(index % MAX_AZS, GetAZs("")), Select(index % 2, GetAZs("")))


def _instance(name: str, index: int, params: DatabaseParams, **extra: object) -> DBInstance:
    return DBInstance(
        name,
        Engine=ENGINE,
        DBClusterIdentifier=Ref("DbCluster"),
        DBInstanceClass=Ref("DbInstanceClass"),
        AvailabilityZone=_az(index),
        PubliclyAccessible=False,
        # 3.10 is an LTS release: AWS advises against automatic minor upgrades, which would
        # move it off the LTS (3.10.0 release notes). LTS patches are applied deliberately.
        AutoMinorVersionUpgrade=False,
        Metadata=guard_suppress(
            "rds_instance_automatic_minor_version_upgrade_enabled_check",
            "An LTS release: automatic minor upgrades would move it off the LTS",
        ),
        EnablePerformanceInsights=True,
        PerformanceInsightsKMSKeyId=GetAtt("DbKey", "Arn"),
        PerformanceInsightsRetentionPeriod=params.performance_insights_days,
        MonitoringInterval=params.monitoring_interval,
        MonitoringRoleArn=GetAtt("MonitoringRole", "Arn"),
        Tags=Tags(Name=Sub(f"${{AWS::StackName}}-{name}")),
        # Aurora snapshots are taken of the cluster (its policy is Snapshot), never of an
        # instance: an instance holds no data of its own.
        DeletionPolicy="Delete",
        UpdateReplacePolicy="Delete",
        **extra,
    )


def _add_instances(template: Template, params: DatabaseParams) -> None:
    template.add_resource(_instance("WriterInstance", 0, params, PromotionTier=0))
    for index in range(1, MAX_READERS + 1):
        template.add_resource(
            _instance(
                f"ReaderInstance{index}",
                index,
                params,
                # Promoted before auto-scaled readers, which Aurora puts in tier 15.
                PromotionTier=1,
                Condition=reader_condition(index),
                # Created after the writer, or whichever instance is ready first becomes the
                # cluster's writer; an update (a new instance class) also reaches the writer
                # first, then each reader: a failover per instance.
                DependsOn="WriterInstance",
            )
        )


def _add_auto_scaling(template: Template) -> None:
    template.add_resource(
        ScalableTarget(
            "ReaderScalableTarget",
            Condition=READER_AUTO_SCALING,
            # Aurora Auto Scaling needs the writer to exist and the cluster to be available.
            DependsOn="WriterInstance",
            ServiceNamespace="rds",
            ScalableDimension="rds:cluster:ReadReplicaCount",
            ResourceId=Sub("cluster:${DbCluster}"),
            MinCapacity=Ref("DbReaderMinCapacity"),
            MaxCapacity=Ref("DbReaderMaxCapacity"),
        )
    )
    template.add_resource(
        ScalingPolicy(
            "ReaderCpuScalingPolicy",
            Condition=READER_AUTO_SCALING,
            PolicyName=Sub("${AWS::StackName}-reader-cpu"),
            PolicyType="TargetTrackingScaling",
            ScalingTargetId=Ref("ReaderScalableTarget"),
            TargetTrackingScalingPolicyConfiguration=TargetTrackingScalingPolicyConfiguration(
                PredefinedMetricSpecification=PredefinedMetricSpecification(
                    PredefinedMetricType="RDSReaderAverageCPUUtilization"
                ),
                TargetValue=Ref("DbReaderCpuTarget"),
                # A new reader takes minutes to come up; do not add another meanwhile.
                ScaleOutCooldown=300,
                ScaleInCooldown=600,
            ),
        )
    )


def _add_outputs(template: Template, params: DatabaseParams) -> None:
    for name, description, value in (
        (
            WRITER_ENDPOINT,
            "Cluster (writer) endpoint: the host of Django's default alias",
            GetAtt("DbCluster", "Endpoint.Address"),
        ),
        (
            READER_ENDPOINT,
            "Reader endpoint, balanced over the readers: the host of the reader alias",
            GetAtt("DbCluster", "ReadEndpoint.Address"),
        ),
        (DB_PORT_OUTPUT, "MySQL port of both endpoints", GetAtt("DbCluster", "Endpoint.Port")),
        (DB_NAME, "Name of the application database", params.database_name),
        (
            DB_SECRET_ARN,
            f"ARN of the application user's secret ({APP_DB_USER}; JSON: username, password)",
            Ref("AppDbSecret"),
        ),
        (
            DB_MASTER_SECRET_ARN,
            "ARN of the master secret RDS manages and rotates: migrate and user management only",
            GetAtt("DbCluster", "MasterUserSecret.SecretArn"),
        ),
        (DB_KMS_KEY_ARN, "ARN of the KMS key of storage and secret", GetAtt("DbKey", "Arn")),
        (DB_SECURITY_GROUP_ID, "ID of the cluster's security group", Ref(DB_SECURITY_GROUP_ID)),
        (DB_CLUSTER_ID, "Identifier of the DB cluster (for alarms)", Ref("DbCluster")),
        (
            DB_INSTANCE_IDS,
            "Identifiers of the writer and readers the stack made, in order, comma-separated",
            Join(
                ",",
                [
                    Ref("WriterInstance"),
                    *(
                        If(reader_condition(i), Ref(f"ReaderInstance{i}"), Ref("AWS::NoValue"))
                        for i in range(1, MAX_READERS + 1)
                    ),
                ],
            ),
        ),
    ):
        template.add_output(Output(name, Description=description, Value=value))


def build(params: DatabaseParams) -> Template:
    """The database stack's template."""
    template = new_template(
        "employees platform: database. Aurora MySQL 3, a writer and readers across AZs in "
        "isolated subnets, KMS-encrypted, RDS-managed secret, reader auto scaling."
    )
    _add_parameters(template)
    _add_conditions(template)
    _add_rules(template)
    _add_key(template)
    _add_monitoring_role(template)
    _add_log_groups(template)
    _add_cluster(template, params)
    _add_app_user_secret(template)
    _add_instances(template, params)
    _add_auto_scaling(template)
    add_reader_cleanup(template, key="DbKey", cluster="DbCluster", switch="DbReaderAutoScaling")
    _add_outputs(template, params)
    return template
