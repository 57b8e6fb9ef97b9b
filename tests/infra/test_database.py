"""Properties of the database stack (issue 8), read from the compiled template."""

from __future__ import annotations

import itertools
import json

import pytest
from cfnlint.data.schemas.extensions import aws_rds_dbcluster
from cfnlint.helpers import load_resource

from infra import database as database_module
from infra.database import DatabaseParams

from .helpers import conditions, evaluate_rule, present, refs, resources, walk

INSTANCE = "AWS::RDS::DBInstance"
KEY_ARN = {"Fn::GetAtt": ["DbKey", "Arn"]}


def cluster(template: dict) -> dict:
    """Properties of the one DB cluster."""
    ((_, resource),) = resources(template, "AWS::RDS::DBCluster").items()
    return resource["Properties"]


def instances(template: dict, scenario: dict[str, str]) -> dict[str, dict]:
    """DB instances that exist for the given parameter values, with Fn::If resolved."""
    now = present(template, conditions(template, scenario))
    return {name: r for name, r in now.items() if r["Type"] == INSTANCE}


def az_of(instance: dict) -> int:
    """Index into Fn::GetAZs of the current Region that places an instance."""
    index, azs = instance["Properties"]["AvailabilityZone"]["Fn::Select"]
    assert azs == {"Fn::GetAZs": ""}
    return index


def test_engine_is_aurora_mysql_3_on_a_version_cfn_lint_does_not_deprecate(database):
    """Aurora MySQL 3 (8.0-compatible), on a version absent from cfn-lint's deprecated list."""
    properties = cluster(database)
    assert properties["Engine"] == "aurora-mysql"
    version = properties["EngineVersion"]
    assert version.startswith("8.0.mysql_aurora.3.")
    deprecated = json.dumps(load_resource(aws_rds_dbcluster, "engine_version_deprecated.json"))
    known = json.dumps(load_resource(aws_rds_dbcluster, "engine_version.json"))
    assert f'"{version}"' not in deprecated
    assert f'"{version}"' in known
    for instance in resources(database, INSTANCE).values():
        assert instance["Properties"]["Engine"] == "aurora-mysql"


@pytest.mark.parametrize("count", range(16))
def test_reader_count_parameter_creates_that_many_readers(database, count):
    """A writer always, plus exactly DbReaderCount readers (0 to 15)."""
    now = instances(database, {"DbReaderCount": str(count)})
    assert "WriterInstance" in now
    assert len(now) == count + 1
    parameter = database["Parameters"]["DbReaderCount"]
    assert parameter["AllowedValues"] == [str(n) for n in range(16)]
    assert parameter["Default"] == "1"


@pytest.mark.parametrize(("azs", "count"), list(itertools.product(("2", "3"), (1, 2, 5, 15))))
def test_instances_spread_round_robin_over_the_azs(database, azs, count):
    """Instances sit in the stack's AZs in turn: the first min(n, AZs) are all distinct."""
    now = instances(database, {"DbReaderCount": str(count), "AzCount": azs})
    order = ["WriterInstance"] + [f"ReaderInstance{i}" for i in range(1, count + 1)]
    placed = [az_of(now[name]) for name in order]
    assert placed == [index % int(azs) for index in range(len(order))]


def test_instance_class_is_a_parameter_with_allowed_values(database):
    """Every instance uses the DbInstanceClass parameter, whose default is one allowed value."""
    parameter = database["Parameters"]["DbInstanceClass"]
    assert parameter["Default"] in parameter["AllowedValues"]
    assert all(value.startswith("db.") for value in parameter["AllowedValues"])
    for instance in resources(database, INSTANCE).values():
        assert instance["Properties"]["DBInstanceClass"] == {"Ref": "DbInstanceClass"}


def test_subnet_group_covers_the_isolated_subnets_only(database):
    """The cluster's subnet group is made of the isolated subnets the root passes in."""
    properties = cluster(database)
    group = database["Resources"][properties["DBSubnetGroupName"]["Ref"]]
    assert group["Properties"]["SubnetIds"] == {"Ref": "IsolatedSubnetIds"}
    assert database["Parameters"]["IsolatedSubnetIds"]["Type"] == "List<AWS::EC2::Subnet::Id>"


def test_no_instance_is_publicly_accessible(database):
    """Every instance sets PubliclyAccessible to false."""
    for name, instance in resources(database, INSTANCE).items():
        assert instance["Properties"]["PubliclyAccessible"] is False, name


def test_cluster_uses_only_the_database_security_group(database):
    """The cluster's one security group is the DB group passed in (3306 from the app only)."""
    assert cluster(database)["VpcSecurityGroupIds"] == [{"Ref": "DbSecurityGroupId"}]
    assert database["Parameters"]["DbSecurityGroupId"]["Type"] == "AWS::EC2::SecurityGroup::Id"
    assert not resources(database, "AWS::EC2::SecurityGroup")


def test_storage_is_encrypted_with_the_stacks_retained_key(database):
    """Storage is encrypted with the stack's KMS key, which is rotated and retained."""
    properties = cluster(database)
    assert properties["StorageEncrypted"] is True
    assert properties["KmsKeyId"] == KEY_ARN
    key = database["Resources"]["DbKey"]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["DeletionPolicy"] == key["UpdateReplacePolicy"] == "Retain"
    assert key["Properties"]["EnableKeyRotation"] is True


def test_key_is_used_only_through_rds_and_secrets_manager(database):
    """Outside administration and CloudWatch Logs (the reader clean-up's log group), the key
    policy allows use only via RDS, or via Secrets Manager."""
    statements = database["Resources"]["DbKey"]["Properties"]["KeyPolicy"]["Statement"]
    # The account's principals (CloudWatch Logs has a statement of its own, by service).
    statements = [s for s in statements if "AWS" in s["Principal"]]
    uses = [s for s in statements if "kms:Decrypt" in s["Action"]]
    services = []
    for use in uses:
        assert use["Condition"]["StringEquals"]["kms:CallerAccount"] == {"Ref": "AWS::AccountId"}
        services.append(use["Condition"]["StringEquals"]["kms:ViaService"])
    assert services == [
        {"Fn::Sub": "rds.${AWS::Region}.${AWS::URLSuffix}"},
        {"Fn::Sub": "secretsmanager.${AWS::Region}.${AWS::URLSuffix}"},
    ]
    for other in [s for s in statements if s not in uses]:
        assert not {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"} & set(other["Action"])


def test_iam_database_authentication_is_on(database):
    """IAM database authentication is enabled on the cluster."""
    assert cluster(database)["EnableIAMDatabaseAuthentication"] is True


def test_backup_retention_is_a_parameter_of_at_least_7_days(database):
    """Backup retention comes from a parameter whose default and minimum are at least 7 days."""
    assert cluster(database)["BackupRetentionPeriod"] == {"Ref": "DbBackupRetentionDays"}
    parameter = database["Parameters"]["DbBackupRetentionDays"]
    assert parameter["MinValue"] >= 7 and parameter["Default"] >= 7
    assert parameter["MaxValue"] == 35


def test_deletion_protection_is_a_parameter_defaulting_to_on(database):
    """Deletion protection comes from a true/false parameter whose default is true."""
    assert cluster(database)["DeletionProtection"] == {"Ref": "DbDeletionProtection"}
    parameter = database["Parameters"]["DbDeletionProtection"]
    assert parameter["AllowedValues"] == ["true", "false"]
    assert parameter["Default"] == "true"


def test_cluster_is_snapshotted_on_delete_and_replacement(database):
    """The cluster's deletion and update-replace policies are both Snapshot."""
    ((_, resource),) = resources(database, "AWS::RDS::DBCluster").items()
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Snapshot"


def test_master_password_is_managed_by_rds_with_the_stacks_key(database):
    """RDS manages the master secret, encrypted with the stack's key; no password, no rotation
    Lambda."""
    properties = cluster(database)
    assert properties["ManageMasterUserPassword"] is True
    assert properties["MasterUserSecret"] == {"KmsKeyId": KEY_ARN}
    assert "MasterUserPassword" not in properties
    assert "Transform" not in database
    kinds = {resource["Type"] for resource in database["Resources"].values()}
    assert "AWS::SecretsManager::RotationSchedule" not in kinds
    assert database["Outputs"][database_module.DB_MASTER_SECRET_ARN]["Value"] == {
        "Fn::GetAtt": ["DbCluster", "MasterUserSecret.SecretArn"]
    }


def test_parameter_group_requires_tls_and_logs_slow_queries(database):
    """The cluster parameter group sets require_secure_transport=ON and the slow query log."""
    properties = cluster(database)
    group = database["Resources"][properties["DBClusterParameterGroupName"]["Ref"]]
    assert group["Properties"]["Family"] == "aurora-mysql8.0"
    parameters = group["Properties"]["Parameters"]
    assert parameters["require_secure_transport"] == "ON"
    assert parameters["slow_query_log"] == "1"
    assert parameters["log_output"] == "FILE"


def test_performance_insights_is_on_and_encrypted_with_the_stacks_key(database):
    """Every instance has Performance Insights on, encrypted with the stack's key."""
    for name, instance in resources(database, INSTANCE).items():
        properties = instance["Properties"]
        assert properties["EnablePerformanceInsights"] is True, name
        assert properties["PerformanceInsightsKMSKeyId"] == KEY_ARN, name
        assert properties["PerformanceInsightsRetentionPeriod"] in (7, 731), name


def test_enhanced_monitoring_uses_its_own_role(database):
    """Every instance has enhanced monitoring through a role only RDS monitoring assumes."""
    for name, instance in resources(database, INSTANCE).items():
        properties = instance["Properties"]
        assert properties["MonitoringInterval"] in database_module.MONITORING_INTERVALS, name
        assert properties["MonitoringRoleArn"] == {"Fn::GetAtt": ["MonitoringRole", "Arn"]}
    role = database["Resources"]["MonitoringRole"]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    }
    assert role["ManagedPolicyArns"] == [
        {
            "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/"
            "AmazonRDSEnhancedMonitoringRole"
        }
    ]
    assert "Policies" not in role


@pytest.mark.parametrize("enabled", ["Enabled", "Disabled"])
def test_reader_auto_scaling_is_optional(database, enabled):
    """The scalable target and its policy exist only when DbReaderAutoScaling is Enabled."""
    now = present(database, conditions(database, {"DbReaderAutoScaling": enabled}))
    kinds = {r["Type"] for r in now.values()}
    scaling = {
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "AWS::ApplicationAutoScaling::ScalingPolicy",
    }
    assert kinds & scaling == (scaling if enabled == "Enabled" else set())


def test_reader_auto_scaling_tracks_reader_cpu_between_min_and_max(database):
    """Auto scaling sets the cluster's reader count between the min and max parameters,
    tracking average reader CPU at the target parameter; it starts after the writer."""
    (target,) = resources(database, "AWS::ApplicationAutoScaling::ScalableTarget").values()
    properties = target["Properties"]
    assert properties["ServiceNamespace"] == "rds"
    assert properties["ScalableDimension"] == "rds:cluster:ReadReplicaCount"
    assert properties["ResourceId"] == {"Fn::Sub": "cluster:${DbCluster}"}
    assert properties["MinCapacity"] == {"Ref": "DbReaderMinCapacity"}
    assert properties["MaxCapacity"] == {"Ref": "DbReaderMaxCapacity"}
    assert target["DependsOn"] == "WriterInstance"
    (policy,) = resources(database, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    configuration = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert policy["Properties"]["PolicyType"] == "TargetTrackingScaling"
    assert configuration["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "RDSReaderAverageCPUUtilization"
    }
    assert configuration["TargetValue"] == {"Ref": "DbReaderCpuTarget"}


def test_reader_capacity_rule_rejects_min_above_max(database):
    """The Rule accepts exactly min <= max (checked before anything is created)."""
    rule = database["Rules"]["DbReaderCapacityInOrder"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "DbReaderAutoScaling"}, "Enabled"]}
    (assertion,) = rule["Assertions"]
    for low, high in itertools.product(range(16), range(1, 16)):
        values = {"DbReaderMinCapacity": str(low), "DbReaderMaxCapacity": str(high)}
        assert evaluate_rule(assertion["Assert"], values) is (low <= high), (low, high)


def test_outputs_name_endpoints_port_database_secret_key_and_group(database):
    """The outputs give writer and reader endpoints, port, DB name, secret, key and group."""
    outputs = {name: output["Value"] for name, output in database["Outputs"].items()}
    assert outputs[database_module.WRITER_ENDPOINT] == {
        "Fn::GetAtt": ["DbCluster", "Endpoint.Address"]
    }
    assert outputs[database_module.READER_ENDPOINT] == {
        "Fn::GetAtt": ["DbCluster", "ReadEndpoint.Address"]
    }
    assert outputs[database_module.DB_PORT_OUTPUT] == {"Fn::GetAtt": ["DbCluster", "Endpoint.Port"]}
    assert outputs[database_module.DB_NAME] == DatabaseParams().database_name
    assert outputs[database_module.DB_KMS_KEY_ARN] == KEY_ARN
    assert outputs[database_module.DB_SECURITY_GROUP_ID] == {"Ref": "DbSecurityGroupId"}
    assert cluster(database)["DatabaseName"] == DatabaseParams().database_name


def test_every_instance_belongs_to_the_cluster(database):
    """All instances join the one cluster; the writer has the top promotion tier."""
    for name, instance in resources(database, INSTANCE).items():
        assert instance["Properties"]["DBClusterIdentifier"] == {"Ref": "DbCluster"}, name
    assert database["Resources"]["WriterInstance"]["Properties"]["PromotionTier"] == 0


def test_readers_wait_for_the_writer(database):
    """Every reader DependsOn WriterInstance: created in parallel, whichever instance is ready
    first would become the writer, and an instance-class change reaches the writer first."""
    for name, instance in resources(database, INSTANCE).items():
        if name != "WriterInstance":
            depends = instance.get("DependsOn", [])
            assert "WriterInstance" in ([depends] if isinstance(depends, str) else depends), name


def test_conditions_refer_only_to_declared_parameters(database):
    """Every Ref in the conditions names a parameter (the reader mapping covers 0..15)."""
    assert refs(database["Conditions"]) <= set(database["Parameters"])
    mapping = database["Mappings"][database_module.READERS_MAPPING]
    assert sorted(mapping, key=int) == [str(n) for n in range(16)]
    assert not any(item == "Fn::Transform" for item in walk(database))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("engine_version", "5.7.mysql_aurora.2.11.2"),
        ("engine_version", "8.0"),
        ("database_name", "1db"),
        ("master_username", "x" * 17),
        ("monitoring_interval", 0),
        ("performance_insights_days", 30),
    ],
)
def test_database_params_reject_bad_values(field, value):
    """A bad build option is a ValueError naming the value."""
    with pytest.raises(ValueError, match=field):
        DatabaseParams(**{field: value})


def test_app_user_secret_is_generated_by_the_stack_under_its_key(database):
    """A second secret, generated by the stack: username employees_app, a 40-character password
    of letters and digits, encrypted with the database key; output DbSecretArn, while the master
    secret RDS manages is DbMasterSecretArn."""
    secret = database["Resources"]["AppDbSecret"]["Properties"]
    generate = secret["GenerateSecretString"]
    assert json.loads(generate["SecretStringTemplate"]) == {"username": "employees_app"}
    assert generate["GenerateStringKey"] == "password"
    assert generate["PasswordLength"] >= 32 and generate["ExcludePunctuation"] is True
    assert secret["KmsKeyId"] == KEY_ARN
    outputs = database["Outputs"]
    assert outputs["DbSecretArn"]["Value"] == {"Ref": "AppDbSecret"}
    assert outputs["DbMasterSecretArn"]["Value"] == {
        "Fn::GetAtt": ["DbCluster", "MasterUserSecret.SecretArn"]
    }


def test_key_serves_secrets_manager_for_the_two_database_secrets_only(database):
    """The key policy lets Secrets Manager use the key only for the master secret (RDS's
    rds!cluster-*) and the app user's secret (named after the stack)."""
    policy = database["Resources"]["DbKey"]["Properties"]["KeyPolicy"]
    (statement,) = [s for s in policy["Statement"] if s["Sid"].endswith("ForTheTwoSecrets")]
    via = statement["Condition"]["StringEquals"]["kms:ViaService"]
    assert via == {"Fn::Sub": "secretsmanager.${AWS::Region}.${AWS::URLSuffix}"}
    arns = statement["Condition"]["StringLike"]["kms:EncryptionContext:SecretARN"]
    prefix = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
    assert arns == [
        {"Fn::Sub": prefix + "rds!cluster-*"},
        {"Fn::Sub": prefix + "${AWS::StackName}-app-db-*"},
    ]
    name = database["Resources"]["AppDbSecret"]["Properties"]["Name"]
    assert name == {"Fn::Sub": "${AWS::StackName}-app-db"}
