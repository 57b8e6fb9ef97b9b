"""Properties of the app stack (issue 9), read from the compiled template."""

from __future__ import annotations

import itertools
import json
import re

import pytest

from infra import app as app_module
from infra.app import AppParams

from .helpers import conditions, evaluate_rule, present, resources

# The environment the site reads (DESIGN.md, "Interface names").
DESIGN_ENVIRONMENT = {
    "DJANGO_ENV",
    "DJANGO_SECRET_KEY_SECRET_ID",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_CSRF_TRUSTED_ORIGINS",
    "DJANGO_HTTPS",
    "DB_SECRET_ID",
    "DB_WRITER_HOST",
    "DB_WRITER_PORT",
    "DB_READER_HOST",
    "DB_READER_PORT",
    "DB_NAME",
    "DB_SSL_CA",
    "AWS_REGION",
}


def launch_data(app: dict) -> dict:
    """The launch template's data."""
    return app["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]


def group(app: dict) -> dict:
    """The Auto Scaling group resource."""
    ((_, resource),) = resources(app, "AWS::AutoScaling::AutoScalingGroup").items()
    return resource


def script(app: dict) -> str:
    """The user data script (the Fn::Sub template inside Fn::Base64)."""
    return launch_data(app)["UserData"]["Fn::Base64"]["Fn::Sub"]


def statements(app: dict) -> dict[str, dict]:
    """The instance role's inline policy statements by Sid."""
    role = app["Resources"]["InstanceRole"]["Properties"]
    (policy,) = role["Policies"]
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


def test_ami_is_al2023_from_the_public_parameter_of_the_instance_architecture(app):
    """ImageId resolves the AL2023 public SSM parameter of the instance type's architecture, at
    each launch (EC2's resolve:ssm:), so an instance refresh takes the latest AMI."""
    image = launch_data(app)["ImageId"]
    condition, arm, x86 = image["Fn::If"]
    assert condition == app_module.IS_ARM
    prefix = "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-"
    assert arm == prefix + "arm64"
    assert x86 == prefix + "x86_64"
    mapping = app["Mappings"][app_module.ARCH_MAPPING]
    assert set(mapping) == set(app["Parameters"]["InstanceType"]["AllowedValues"])
    for kind, row in mapping.items():
        family = kind.split(".")[0]
        assert row["Arch"] == ("arm64" if family.endswith("g") else "x86_64"), kind
    assert app["Conditions"][app_module.IS_ARM] == {
        "Fn::Equals": [
            {"Fn::FindInMap": [app_module.ARCH_MAPPING, {"Ref": "InstanceType"}, "Arch"]},
            "arm64",
        ]
    }


def test_imdsv2_is_required_with_hop_limit_1(app):
    """Instance metadata needs session tokens (IMDSv2) and answers one hop away only."""
    options = launch_data(app)["MetadataOptions"]
    assert options["HttpTokens"] == "required"
    assert options["HttpPutResponseHopLimit"] == 1


def test_root_volume_is_encrypted_gp3(app):
    """The root volume is an encrypted gp3 volume deleted with the instance."""
    (mapping,) = launch_data(app)["BlockDeviceMappings"]
    assert mapping["Ebs"]["VolumeType"] == "gp3"
    assert mapping["Ebs"]["Encrypted"] is True
    assert mapping["Ebs"]["DeleteOnTermination"] is True


def test_no_key_pair_and_no_public_ip(app):
    """Instances have no SSH key pair and no public IP; their one interface has the app group."""
    data = launch_data(app)
    assert "KeyName" not in data
    (interface,) = data["NetworkInterfaces"]
    assert interface["AssociatePublicIpAddress"] is False
    assert interface["Groups"] == [{"Ref": "AppSecurityGroupId"}]
    assert "SecurityGroupIds" not in data


def test_detailed_monitoring_is_on(app):
    """Instances publish 1-minute EC2 metrics."""
    assert launch_data(app)["Monitoring"] == {"Enabled": True}


def test_instance_reads_only_its_secrets(app):
    """GetSecretValue only, on the app user's and master's database secrets and the Django one."""
    statement = statements(app)["ReadTheSecrets"]
    assert statement["Action"] == ["secretsmanager:GetSecretValue"]
    assert statement["Resource"] == [
        {"Ref": "DbSecretArn"},
        {"Ref": "DbMasterSecretArn"},
        {"Ref": "DjangoSecretKey"},
    ]


def test_instance_rotates_only_the_app_users_secret(app):
    """Writing a new version (rotate_app_password) is allowed on the app user's secret only,
    and its key may encrypt only through Secrets Manager."""
    statement = statements(app)["RotateTheAppDbPassword"]
    assert statement["Resource"] == [{"Ref": "DbSecretArn"}]
    assert sorted(statement["Action"]) == [
        "secretsmanager:DescribeSecret",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
    ]
    encrypt = statements(app)["EncryptTheRotatedPassword"]
    assert encrypt["Resource"] == [{"Ref": "DbKmsKeyArn"}]
    assert encrypt["Condition"]["StringEquals"]["kms:ViaService"] == {
        "Fn::Sub": "secretsmanager.${AWS::Region}.${AWS::URLSuffix}"
    }


def test_the_master_secret_reaches_the_instance_for_migrate(app):
    """The instance environment names both secrets: DB_SECRET_ID (the app user, for gunicorn)
    and DB_MIGRATE_SECRET_ID (the master, which the bootstrap gives to migrate only)."""
    from infra.app import ENVIRONMENT

    assert ENVIRONMENT["DB_SECRET_ID"] == "${DbSecretArn}"
    assert ENVIRONMENT["DB_MIGRATE_SECRET_ID"] == "${DbMasterSecretArn}"


def test_password_rotation_schedule_is_off_by_default_and_runs_the_command(app):
    """AppDbPasswordRotationDays 0 creates nothing; otherwise a daily Run Command on the group's
    instances runs rotate_app_password --if-older-than-days with the parameter, one at a time."""
    parameter = app["Parameters"]["AppDbPasswordRotationDays"]
    assert (parameter["Default"], parameter["MinValue"]) == (0, 0)
    off = present(app, conditions(app, {"AppDbPasswordRotationDays": "0"}))
    on = present(app, conditions(app, {"AppDbPasswordRotationDays": "30"}))
    assert "AppDbPasswordRotationSchedule" not in off
    schedule = on["AppDbPasswordRotationSchedule"]["Properties"]
    assert schedule["ScheduleExpression"] == "rate(1 day)"
    target = schedule["Target"]
    assert target["Arn"] == {"Fn::Sub": "arn:${AWS::Partition}:scheduler:::aws-sdk:ssm:sendCommand"}
    command = json.loads(target["Input"]["Fn::Sub"])
    assert command["DocumentName"] == "AWS-RunShellScript"
    assert command["Targets"] == [
        {"Key": "tag:aws:autoscaling:groupName", "Values": ["${AutoScalingGroup}"]}
    ]
    assert command["Parameters"]["commands"] == [
        "/usr/local/bin/employees-site-manage rotate_app_password "
        "--if-older-than-days ${AppDbPasswordRotationDays}"
    ]
    assert command["MaxConcurrency"] == "1"


def test_rotation_schedule_may_only_send_the_shell_document_to_its_groups_instances(app):
    """The scheduler's role: ssm:SendCommand on AWS-RunShellScript and on instances tagged with
    this group, assumed by EventBridge Scheduler of this account only."""
    role = app["Resources"]["AppDbPasswordRotationRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    (policy,) = role["Policies"]
    document, instances = policy["PolicyDocument"]["Statement"]
    assert document["Action"] == instances["Action"] == ["ssm:SendCommand"]
    assert document["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}::document/AWS-RunShellScript"}
    ]
    assert instances["Condition"] == {
        "StringEquals": {"ssm:resourceTag/aws:autoscaling:groupName": {"Ref": "AutoScalingGroup"}}
    }


def test_instance_decrypts_only_with_the_secrets_keys_through_secrets_manager(app):
    """kms:Decrypt only, on the two secrets' keys, only via Secrets Manager."""
    statement = statements(app)["DecryptTheSecrets"]
    assert statement["Action"] == ["kms:Decrypt"]
    assert statement["Resource"] == [{"Ref": "DbKmsKeyArn"}, {"Fn::GetAtt": ["AppKey", "Arn"]}]
    assert statement["Condition"]["StringEquals"]["kms:ViaService"] == {
        "Fn::Sub": "secretsmanager.${AWS::Region}.${AWS::URLSuffix}"
    }


def test_instance_reads_only_the_artifact(app):
    """s3:GetObject only, on the artifact object."""
    statement = statements(app)["ReadTheArtifact"]
    assert statement["Action"] == ["s3:GetObject"]
    assert statement["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:s3:::${ArtifactBucket}/${ArtifactKey}"}
    ]


def test_instance_writes_only_its_log_groups_and_agent_metrics(app):
    """Log events go to this stack's two log groups; metrics only to the CWAgent namespace."""
    logs = statements(app)["WriteTheLogs"]
    assert logs["Resource"] == [
        {"Fn::GetAtt": ["AppLogGroup", "Arn"]},
        {"Fn::GetAtt": ["GunicornLogGroup", "Arn"]},
    ]
    assert all(action.startswith("logs:") for action in logs["Action"])
    metrics = statements(app)["WriteAgentMetrics"]
    assert metrics["Action"] == ["cloudwatch:PutMetricData"]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "CWAgent"}}
    assert statements(app)["AgentReadsTags"]["Action"] == ["ec2:DescribeTags"]


def test_role_has_session_manager_and_nothing_else_managed(app):
    """The only managed policy is Session Manager's core; the policy has exactly eight parts."""
    role = app["Resources"]["InstanceRole"]["Properties"]
    assert role["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"}
    ]
    assert set(statements(app)) == {
        "ReadTheSecrets",
        "DecryptTheSecrets",
        "RotateTheAppDbPassword",
        "EncryptTheRotatedPassword",
        "ReadTheArtifact",
        "WriteTheLogs",
        "WriteAgentMetrics",
        "AgentReadsTags",
    }
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "ec2.amazonaws.com"}


def test_django_secret_key_is_a_generated_plain_string_of_50_or_more(app):
    """The Django secret is generated, at least 50 characters, a plain string, KMS-encrypted."""
    secret = app["Resources"]["DjangoSecretKey"]["Properties"]
    generate = secret["GenerateSecretString"]
    assert generate["PasswordLength"] >= 50
    assert "SecretStringTemplate" not in generate and "GenerateStringKey" not in generate
    assert "SecretString" not in secret
    assert secret["KmsKeyId"] == {"Fn::GetAtt": ["AppKey", "Arn"]}
    assert app["Outputs"][app_module.APP_SECRET_ARN]["Value"] == {"Ref": "DjangoSecretKey"}


def test_group_spans_the_private_subnets_with_size_parameters(app):
    """The group uses the private (NAT) subnets of every AZ and the min/max/desired parameters."""
    properties = group(app)["Properties"]
    assert properties["VPCZoneIdentifier"] == {"Ref": "PrivateSubnetIds"}
    assert properties["MinSize"] == {"Ref": "AppMinSize"}
    assert properties["MaxSize"] == {"Ref": "AppMaxSize"}
    assert properties["DesiredCapacity"] == {"Ref": "AppDesiredCapacity"}
    assert properties["TargetGroupARNs"] == [{"Ref": "TargetGroupArn"}]


def test_rule_accepts_exactly_min_le_desired_le_max_and_min_below_max(app):
    """The size Rule holds exactly when min <= desired <= max and min < max (2/2/2 would make
    every rolling update fail: MinInstancesInService must stay below MaxSize)."""
    (assertion,) = app["Rules"][app_module.SIZE_RULE]["Assertions"]
    sizes = range(1, app_module.MAX_INSTANCES + 1)
    for low, mid, high in itertools.product(sizes, sizes, sizes):
        values = {"AppMinSize": str(low), "AppDesiredCapacity": str(mid), "AppMaxSize": str(high)}
        expected = low <= mid <= high and low < high
        assert evaluate_rule(assertion["Assert"], values) is expected, (low, mid, high)


def test_group_uses_elb_health_checks_with_a_grace_period(app):
    """Instances failing the load balancer's health check are replaced, after a grace period."""
    properties = group(app)["Properties"]
    assert properties["HealthCheckType"] == "ELB"
    # Long enough for a cold boot (the bootstrap alone waits up to 300 s for /readyz), and
    # within the time CloudFormation waits for the instance's signal.
    grace = properties["HealthCheckGracePeriod"]
    signal = group(app)["CreationPolicy"]["ResourceSignal"]["Timeout"]
    assert 600 <= grace <= int(signal.removeprefix("PT").removesuffix("M")) * 60


def test_target_tracking_on_request_count_and_cpu(app):
    """Two target-tracking policies: ALB requests per target (a parameter) and average CPU."""
    policies = {
        p["Properties"]["TargetTrackingConfiguration"]["PredefinedMetricSpecification"][
            "PredefinedMetricType"
        ]: p["Properties"]
        for p in resources(app, "AWS::AutoScaling::ScalingPolicy").values()
    }
    assert set(policies) == {"ALBRequestCountPerTarget", "ASGAverageCPUUtilization"}
    requests = policies["ALBRequestCountPerTarget"]["TargetTrackingConfiguration"]
    assert requests["TargetValue"] == {"Ref": "RequestsPerTarget"}
    assert requests["PredefinedMetricSpecification"]["ResourceLabel"] == {
        "Fn::Sub": "${LoadBalancerFullName}/${TargetGroupFullName}"
    }
    cpu = policies["ASGAverageCPUUtilization"]["TargetTrackingConfiguration"]
    assert cpu["TargetValue"] == {"Ref": "AppCpuTarget"}
    for policy in policies.values():
        assert policy["AutoScalingGroupName"] == {"Ref": "AutoScalingGroup"}


def test_group_is_instance_refresh_friendly(app):
    """Launch before terminate (100-200 % healthy), a default warm-up, latest template version."""
    properties = group(app)["Properties"]
    assert properties["InstanceMaintenancePolicy"] == {
        "MinHealthyPercentage": 100,
        "MaxHealthyPercentage": 200,
    }
    assert properties["DefaultInstanceWarmup"] > 0
    assert properties["LaunchTemplate"]["Version"] == {
        "Fn::GetAtt": ["LaunchTemplate", "LatestVersionNumber"]
    }


def test_rolling_update_and_creation_wait_for_cfn_signal(app):
    """Updates roll one instance at a time waiting for cfn-signal; creation waits for all."""
    resource = group(app)
    rolling = resource["UpdatePolicy"]["AutoScalingRollingUpdate"]
    assert rolling["WaitOnResourceSignals"] is True
    assert rolling["MaxBatchSize"] == 1
    assert rolling["MinInstancesInService"] == {"Ref": "AppMinSize"}
    assert "HealthCheck" in rolling["SuspendProcesses"]
    creation = resource["CreationPolicy"]
    assert creation["ResourceSignal"]["Count"] == {"Ref": "AppDesiredCapacity"}
    assert creation["AutoScalingCreationPolicy"]["MinSuccessfulInstancesPercent"] == 100
    assert re.fullmatch(r"PT\d+M", creation["ResourceSignal"]["Timeout"])


def test_user_data_writes_the_design_environment_to_a_private_file(app):
    """User data writes every variable of DESIGN.md to the env file with mode 0640."""
    text = script(app)
    block = text.split("<<'ENVIRONMENT'\n")[1].split("\nENVIRONMENT\n")[0]
    written = dict(line.split("=", 1) for line in block.splitlines())
    assert set(written) >= DESIGN_ENVIRONMENT
    assert written["DJANGO_ENV"] == "production"
    assert written["DB_WRITER_HOST"] == "${DbWriterHost}"
    assert written["DB_READER_HOST"] == "${DbReaderHost}"
    assert written["DB_SECRET_ID"] == "${DbSecretArn}"
    assert written["DJANGO_SECRET_KEY_SECRET_ID"] == "${DjangoSecretKey}"
    assert written["DJANGO_ALLOWED_HOSTS"] == "${SiteHost}"
    assert f"chmod 0640 {app_module.ENV_FILE}" in text
    assert "umask 027" in text


def test_user_data_fetches_the_artifact_and_runs_its_bootstrap(app):
    """User data copies s3://ArtifactBucket/ArtifactKey, unpacks it to a versioned release and
    runs deploy/bootstrap/bootstrap.sh with the env file, stack, resource and Region."""
    text = script(app)
    assert "aws s3 cp --only-show-errors 's3://${ArtifactBucket}/${ArtifactKey}'" in text
    assert f"release={app_module.RELEASES}/$(basename '${{ArtifactKey}}' .zip)" in text
    assert (
        f'bash "$release/{app_module.BOOTSTRAP}" {app_module.ENV_FILE} '
        "'${AWS::StackName}' AutoScalingGroup '${AWS::Region}'"
    ) in text
    assert "cfn-signal -e 1" in text


def test_log_groups_have_retention_and_kms(app):
    """The app and gunicorn log groups keep logs for the retention parameter, KMS-encrypted."""
    groups = resources(app, "AWS::Logs::LogGroup")
    assert set(groups) == {"AppLogGroup", "GunicornLogGroup"}
    for name, log_group in groups.items():
        # The retention itself: tests/infra/test_log_retention.py.
        assert "RetentionInDays" in log_group["Properties"], name
        assert log_group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["AppKey", "Arn"]}, name


def test_app_key_lets_cloudwatch_logs_use_it(app):
    """The app key's policy lets CloudWatch Logs encrypt this account's and Region's log groups."""
    policy = app["Resources"]["AppKey"]["Properties"]["KeyPolicy"]["Statement"]
    (logs,) = [s for s in policy if s.get("Sid") == "CloudWatchLogsUsesKey"]
    assert logs["Principal"] == {"Service": {"Fn::Sub": "logs.${AWS::Region}.${AWS::URLSuffix}"}}
    assert logs["Condition"] == {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": {
                "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"
            }
        }
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [("root_volume_gib", 4), ("health_check_grace_seconds", True), ("signal_timeout_minutes", 0)],
)
def test_app_params_reject_bad_values(field, value):
    """A bad build option is a ValueError naming it."""
    with pytest.raises(ValueError, match=field):
        AppParams(**{field: value})
