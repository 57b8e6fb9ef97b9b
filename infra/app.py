"""The app stack: launch template, Auto Scaling group, instance role, Django secret and logs.

Instances run Amazon Linux 2023 in the private subnets, reachable only from the load balancer
(the security stack's groups), managed through Session Manager (no key pair, no public IP). User
data writes the site's environment, fetches the artifact from S3 and hands over to the
artifact's own bootstrap script, which signals CloudFormation when ``/readyz`` answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from awacs import cloudwatch, ec2, kms, logs, s3, secretsmanager
from awacs.aws import Allow, Condition, PolicyDocument, Statement, StringEquals
from troposphere import (
    And,
    Base64,
    Equals,
    FindInMap,
    GetAtt,
    If,
    Or,
    Output,
    Ref,
    Sub,
    Tags,
    Template,
)
from troposphere.autoscaling import (
    AutoScalingGroup,
    InstanceMaintenancePolicy,
    LaunchTemplateSpecification,
    MetricsCollection,
    ScalingPolicy,
)
from troposphere.autoscaling import Tags as AsgTags
from troposphere.ec2 import LaunchTemplate
from troposphere.iam import InstanceProfile, Policy, Role
from troposphere.policies import (
    AutoScalingCreationPolicy,
    AutoScalingRollingUpdate,
    AutoScalingScheduledAction,
    CreationPolicy,
    ResourceSignal,
    UpdatePolicy,
)
from troposphere.secretsmanager import GenerateSecretString, Secret

from . import rotation
from .common import (
    LOG_RETENTION,
    LOGS_GROUP,
    account_grants_via,
    account_uses_key_via,
    add_log_retention,
    add_parameter,
    assumed_by,
    from_properties,
    guard_suppress,
    key_admin_statement,
    log_group,
    logs_key_statement,
    new_template,
    rotating_key,
    set_parameter_groups,
)
from .security import APP_PORT

# Output names.
APP_SECRET_ARN = "AppSecretArn"  # noqa: S105 (an output name, not a secret)
AUTO_SCALING_GROUP_NAME = "AutoScalingGroupName"
APP_LOG_GROUP = "AppLogGroupName"

ENV_FILE = "/etc/employees-site/env"
BOOTSTRAP = "deploy/bootstrap/bootstrap.sh"
RELEASES = "/opt/employees-site/releases"
MAX_INSTANCES = 20
# Instance types offered, with the architecture of the AMI they need.
INSTANCE_TYPES = {
    "t4g.small": "arm64",
    "t4g.medium": "arm64",
    "m6g.large": "arm64",
    "m6g.xlarge": "arm64",
    "c6g.large": "arm64",
    "c6g.xlarge": "arm64",
    "t3.small": "x86_64",
    "t3.medium": "x86_64",
    "m6i.large": "x86_64",
    "c6i.large": "x86_64",
}
# The public SSM parameters of the latest Amazon Linux 2023 AMI per architecture.
AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}"
ARCH_MAPPING = "InstanceArchitecture"
SIZE_RULE = "AppSizesInOrder"
IS_ARM = "IsArm64"


@dataclass(frozen=True)
class AppParams:
    """Build options of the app stack."""

    root_volume_gib: int = 20
    # Covers a cold boot: packages, the wheel and its locked dependencies (mysqlclient builds
    # from source), migrate, then the wait for /readyz. Shorter, and the ELB health check would
    # replace instances that are still booting at every scale-out.
    health_check_grace_seconds: int = 900
    signal_timeout_minutes: int = 20

    def __post_init__(self) -> None:
        for name, low, high in (
            ("root_volume_gib", 8, 200),
            ("health_check_grace_seconds", 60, 1800),
            ("signal_timeout_minutes", 5, 60),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name}={value!r} must be an integer from {low} to {high}")


def _wired(template: Template, name: str, label: str, description: str, kind: str) -> None:
    add_parameter(
        template,
        name,
        label=label,
        description=description,
        constraint_description="must be the value the root passes from another stack",
        Type=kind,
        **({"MinLength": 1} if kind == "String" else {}),
    )


def _add_parameters(template: Template) -> None:
    for name, label, description, kind in (
        (
            "PrivateSubnetIds",
            "Private subnets",
            "Subnets with NAT egress",
            "List<AWS::EC2::Subnet::Id>",
        ),
        (
            "AppSecurityGroupId",
            "App security group",
            "Group of the instances",
            "AWS::EC2::SecurityGroup::Id",
        ),
        ("TargetGroupArn", "Target group", "Target group of the load balancer", "String"),
        ("LoadBalancerFullName", "Load balancer metric name", "ALB metric dimension", "String"),
        (
            "TargetGroupFullName",
            "Target group metric name",
            "Target group metric dimension",
            "String",
        ),
        ("SiteHost", "Site host", "Host name clients use", "String"),
        ("SiteUrl", "Site URL", "URL of the site", "String"),
        ("HttpsEnabled", "HTTPS", "true when the site is served over HTTPS", "String"),
        ("DbWriterHost", "Writer endpoint", "Aurora cluster endpoint", "String"),
        ("DbReaderHost", "Reader endpoint", "Aurora reader endpoint", "String"),
        ("DbPort", "Database port", "MySQL port", "String"),
        ("DbName", "Database name", "Application database", "String"),
        ("DbSecretArn", "Database secret", "ARN of the application user's secret", "String"),
        (
            "DbMasterSecretArn",
            "Database master secret",
            "ARN of the RDS-managed master secret (migrate only)",
            "String",
        ),
        ("DbKmsKeyArn", "Database key", "ARN of the key of the database secret", "String"),
    ):
        _wired(template, name, label, description, kind)
    add_parameter(
        template,
        "ArtifactBucket",
        label="Artifact bucket",
        description="S3 bucket, in this Region, holding the app artifact (the deploy tool's).",
        constraint_description="must be an S3 bucket name: lowercase letters, digits, . and -",
        Type="String",
        AllowedPattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
    )
    add_parameter(
        template,
        "ArtifactKey",
        label="Artifact key",
        description="S3 key of the app artifact zip; a new key rolls the instances.",
        constraint_description="must be an S3 key ending in .zip",
        Type="String",
        AllowedPattern=r"^[0-9A-Za-z!_.*'()/-]+\.zip$",
        MaxLength=1024,
    )
    add_parameter(
        template,
        "InstanceType",
        label="Instance type",
        description="EC2 instance type; the AMI's architecture follows it (Graviton: arm64).",
        constraint_description="must be one of the listed instance types",
        Type="String",
        Default="t4g.small",
        AllowedValues=list(INSTANCE_TYPES),
    )
    for name, label, default in (
        ("AppMinSize", "Minimum instances", 2),
        ("AppDesiredCapacity", "Desired instances", 2),
        ("AppMaxSize", "Maximum instances", 6),
    ):
        add_parameter(
            template,
            name,
            label=label,
            description=f"{label} of the Auto Scaling group (min <= desired <= max).",
            constraint_description=f"must be from 1 to {MAX_INSTANCES}",
            Type="Number",
            Default=default,
            MinValue=1,
            MaxValue=MAX_INSTANCES,
        )
    add_parameter(
        template,
        "RequestsPerTarget",
        label="Requests per instance per minute",
        description="Scaling target: ALB requests per instance per minute (the blog used 60).",
        constraint_description="must be from 10 to 100000",
        Type="Number",
        Default=1000,
        MinValue=10,
        MaxValue=100000,
    )
    add_parameter(
        template,
        "AppCpuTarget",
        label="Instance CPU target (%)",
        description="Scaling target: average CPU of the group.",
        constraint_description="must be from 20 to 90",
        Type="Number",
        Default=60,
        MinValue=20,
        MaxValue=90,
    )
    add_log_retention(template)
    set_parameter_groups(
        template,
        [
            ("Application", ["ArtifactBucket", "ArtifactKey"]),
            (
                "Instances",
                [
                    "InstanceType",
                    "AppMinSize",
                    "AppDesiredCapacity",
                    "AppMaxSize",
                    "RequestsPerTarget",
                    "AppCpuTarget",
                    "AppDbPasswordRotationDays",
                ],
            ),
            (LOGS_GROUP, [LOG_RETENTION]),
            (
                "App wiring",
                [
                    "PrivateSubnetIds",
                    "AppSecurityGroupId",
                    "TargetGroupArn",
                    "LoadBalancerFullName",
                    "TargetGroupFullName",
                    "SiteHost",
                    "SiteUrl",
                    "HttpsEnabled",
                    "DbWriterHost",
                    "DbReaderHost",
                    "DbPort",
                    "DbName",
                    "DbSecretArn",
                    "DbMasterSecretArn",
                    "DbKmsKeyArn",
                ],
            ),
        ],
    )


def _in(name: str, values: range) -> object:
    """Rule condition: parameter ``name`` is one of ``values`` (as strings)."""
    return {"Fn::Contains": [[str(value) for value in values], Ref(name)]}


def size_order_assertion() -> object:
    """Rule assertion min <= desired <= max and min < max, for numbers 1..20 (Rules cannot
    compare): for the desired value d, min is one of 1..d and max one of d..20, and not both d.

    min < max because a rolling update keeps MinInstancesInService (the minimum) in service and
    launches the replacement above it; CloudFormation refuses the update when min equals max.
    """
    options = [
        And(Equals(Ref("AppDesiredCapacity"), str(desired)), _min_and_max(desired))
        for desired in range(1, MAX_INSTANCES + 1)
    ]
    return Or(*[Or(*options[start : start + 10]) for start in range(0, len(options), 10)])


def _min_and_max(desired: int) -> object:
    below = And(  # min below desired: max may equal it
        _in("AppMinSize", range(1, desired)), _in("AppMaxSize", range(desired, MAX_INSTANCES + 1))
    )
    at = And(  # min equal to desired: max must be above it
        Equals(Ref("AppMinSize"), str(desired)),
        _in("AppMaxSize", range(desired + 1, MAX_INSTANCES + 1)),
    )
    if desired == 1:
        return at
    if desired == MAX_INSTANCES:
        return below
    return Or(below, at)


def _add_rules_and_conditions(template: Template) -> None:
    template.add_rule(
        SIZE_RULE,
        {
            "Assertions": [
                {
                    "Assert": size_order_assertion(),
                    "AssertDescription": (
                        "Instances: need minimum <= desired <= maximum, and maximum above "
                        "minimum (a rolling update launches each replacement above the minimum)"
                    ),
                }
            ]
        },
    )
    template.add_mapping(
        ARCH_MAPPING, {kind: {"Arch": arch} for kind, arch in INSTANCE_TYPES.items()}
    )
    template.add_condition(
        IS_ARM, Equals(FindInMap(ARCH_MAPPING, Ref("InstanceType"), "Arch"), "arm64")
    )


def _key_policy() -> PolicyDocument:
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            key_admin_statement(),
            logs_key_statement(),
            account_uses_key_via(
                "AccountUsesKeyThroughSecretsManager",
                ("secretsmanager",),
                [kms.Decrypt, kms.DescribeKey, kms.Encrypt, kms.GenerateDataKey],
            ),
            account_grants_via("SecretsManagerGrantsForItsResources", ("secretsmanager",)),
        ],
    )


def _add_key_secret_and_logs(template: Template) -> None:
    template.add_resource(
        rotating_key(
            "AppKey", "App logs and Django secret of ${AWS::StackName}", _key_policy(), retain=False
        )
    )
    template.add_resource(
        Secret(
            "DjangoSecretKey",
            Description=Sub("Django SECRET_KEY of ${AWS::StackName} (a plain string)"),
            KmsKeyId=GetAtt("AppKey", "Arn"),
            # A plain string, not JSON: no SecretStringTemplate. Quotes and backslashes are
            # left out so the value is safe in an environment file.
            GenerateSecretString=GenerateSecretString(
                PasswordLength=64, ExcludeCharacters="\"'\\`$", RequireEachIncludedType=True
            ),
            DeletionPolicy="Delete",
            UpdateReplacePolicy="Delete",
        )
    )
    for name in ("AppLogGroup", "GunicornLogGroup"):
        template.add_resource(
            log_group(name, "AppKey", DeletionPolicy="Delete", UpdateReplacePolicy="Delete")
        )


def instance_policy() -> PolicyDocument:
    """What an instance may do: read its secrets and the artifact, rotate the app user's
    password, write its metrics/logs.

    The master secret is readable too: migrate runs on the instances. Any process that can use
    the instance role can read it; running migrations from elsewhere would remove that.
    """
    secrets = [Ref("DbSecretArn"), Ref("DbMasterSecretArn"), Ref("DjangoSecretKey")]
    via_secrets_manager = Condition(
        StringEquals("kms:ViaService", Sub("secretsmanager.${AWS::Region}.${AWS::URLSuffix}"))
    )
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="ReadTheSecrets",
                Effect=Allow,
                Action=[secretsmanager.GetSecretValue],
                Resource=secrets,
            ),
            Statement(
                Sid="DecryptTheSecrets",
                Effect=Allow,
                Action=[kms.Decrypt],
                Resource=[Ref("DbKmsKeyArn"), GetAtt("AppKey", "Arn")],
                Condition=via_secrets_manager,
            ),
            Statement(
                # manage.py rotate_app_password: a new version of the app user's secret only.
                Sid="RotateTheAppDbPassword",
                Effect=Allow,
                Action=[
                    secretsmanager.DescribeSecret,
                    secretsmanager.PutSecretValue,
                    secretsmanager.UpdateSecretVersionStage,
                ],
                Resource=[Ref("DbSecretArn")],
            ),
            Statement(
                Sid="EncryptTheRotatedPassword",
                Effect=Allow,
                Action=[kms.GenerateDataKey, kms.Encrypt],
                Resource=[Ref("DbKmsKeyArn")],
                Condition=via_secrets_manager,
            ),
            Statement(
                Sid="ReadTheArtifact",
                Effect=Allow,
                Action=[s3.GetObject],
                Resource=[Sub("arn:${AWS::Partition}:s3:::${ArtifactBucket}/${ArtifactKey}")],
            ),
            Statement(
                Sid="WriteTheLogs",
                Effect=Allow,
                Action=[logs.CreateLogStream, logs.DescribeLogStreams, logs.PutLogEvents],
                Resource=[GetAtt("AppLogGroup", "Arn"), GetAtt("GunicornLogGroup", "Arn")],
            ),
            Statement(
                Sid="WriteAgentMetrics",
                Effect=Allow,
                Action=[cloudwatch.PutMetricData],
                # PutMetricData has no resource type: "*" is required; the namespace is fixed.
                Resource=["*"],
                Condition=Condition(StringEquals("cloudwatch:namespace", "CWAgent")),
            ),
            Statement(
                Sid="AgentReadsTags",
                Effect=Allow,
                # The agent's ${aws:AutoScalingGroupName} dimension comes from the instance's
                # tags; Describe* actions have no resource type, so "*" is required.
                Action=[ec2.DescribeTags],
                Resource=["*"],
            ),
        ],
    )


def _add_role(template: Template) -> None:
    template.add_resource(
        Role(
            "InstanceRole",
            AssumeRolePolicyDocument=assumed_by("ec2.amazonaws.com"),
            # Session Manager instead of SSH (the AWS managed policy for it).
            ManagedPolicyArns=[
                Sub("arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore")
            ],
            Policies=[Policy(PolicyName="employees-site", PolicyDocument=instance_policy())],
        )
    )
    template.add_resource(InstanceProfile("InstanceProfile", Roles=[Ref("InstanceRole")]))


ENVIRONMENT = {
    "DJANGO_ENV": "production",
    "DJANGO_SECRET_KEY_SECRET_ID": "${DjangoSecretKey}",
    "DJANGO_ALLOWED_HOSTS": "${SiteHost}",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "${SiteUrl}",
    "DJANGO_HTTPS": "${HttpsEnabled}",
    "DB_SECRET_ID": "${DbSecretArn}",
    # The bootstrap gives this one to migrate and the manage wrapper only, never to gunicorn.
    "DB_MIGRATE_SECRET_ID": "${DbMasterSecretArn}",
    "DB_WRITER_HOST": "${DbWriterHost}",
    "DB_WRITER_PORT": "${DbPort}",
    "DB_READER_HOST": "${DbReaderHost}",
    "DB_READER_PORT": "${DbPort}",
    "DB_NAME": "${DbName}",
    "DB_SSL_CA": "/etc/pki/tls/certs/rds-global-bundle.pem",
    "AWS_REGION": "${AWS::Region}",
    "APP_LOG_GROUP": "${AppLogGroup}",
    "GUNICORN_LOG_GROUP": "${GunicornLogGroup}",
    "APP_PORT": str(APP_PORT),
}


def user_data() -> str:
    """The instance's boot script (an Fn::Sub template): environment, artifact, bootstrap."""
    environment = "\n".join(f"{name}={value}" for name, value in ENVIRONMENT.items())
    return f"""#!/bin/bash
# employees site: write the environment, fetch the artifact, run its bootstrap.
set -euo pipefail
umask 027
signal_failure() {{
  /opt/aws/bin/cfn-signal -e 1 --stack '${{AWS::StackName}}' --resource AutoScalingGroup \\
    --region '${{AWS::Region}}' || true
}}
trap signal_failure ERR
dnf install -y -q aws-cfn-bootstrap
install -d -m 0750 /etc/employees-site
cat > {ENV_FILE} <<'ENVIRONMENT'
{environment}
ENVIRONMENT
chmod 0640 {ENV_FILE}
curl -fsS -o /etc/pki/tls/certs/rds-global-bundle.pem \\
  https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem
chmod 0644 /etc/pki/tls/certs/rds-global-bundle.pem  # the service user reads it
release={RELEASES}/$(basename '${{ArtifactKey}}' .zip)
install -d -m 0755 "$release"
aws s3 cp --only-show-errors 's3://${{ArtifactBucket}}/${{ArtifactKey}}' /tmp/artifact.zip
python3 -m zipfile -e /tmp/artifact.zip "$release"
rm -f /tmp/artifact.zip
trap - ERR  # from here the bootstrap signals success or failure itself, with the reason
bash "$release/{BOOTSTRAP}" {ENV_FILE} '${{AWS::StackName}}' AutoScalingGroup '${{AWS::Region}}'
"""


def _add_launch_template(template: Template, params: AppParams) -> None:
    # EC2's own resolve:ssm: form, resolved at every launch (not CloudFormation's
    # {{resolve:ssm:...}}, resolved once per stack operation): an instance refresh then picks up
    # the latest AL2023 AMI without a stack update.
    image = If(
        IS_ARM,
        "resolve:ssm:" + AMI_PARAMETER.format(arch="arm64"),
        "resolve:ssm:" + AMI_PARAMETER.format(arch="x86_64"),
    )
    template.add_resource(
        from_properties(
            LaunchTemplate,
            "LaunchTemplate",
            {
                "LaunchTemplateData": {
                    "ImageId": image,
                    "InstanceType": Ref("InstanceType"),
                    "IamInstanceProfile": {"Arn": GetAtt("InstanceProfile", "Arn")},
                    # IMDSv2 only, and one hop: containers on the host cannot reach it.
                    "MetadataOptions": {
                        "HttpEndpoint": "enabled",
                        "HttpTokens": "required",
                        "HttpPutResponseHopLimit": 1,
                    },
                    "NetworkInterfaces": [
                        {
                            "DeviceIndex": 0,
                            "AssociatePublicIpAddress": False,
                            "Groups": [Ref("AppSecurityGroupId")],
                            "DeleteOnTermination": True,
                        }
                    ],
                    "BlockDeviceMappings": [
                        {
                            "DeviceName": "/dev/xvda",
                            "Ebs": {
                                "VolumeType": "gp3",
                                "VolumeSize": params.root_volume_gib,
                                "Encrypted": True,
                                "DeleteOnTermination": True,
                            },
                        }
                    ],
                    "Monitoring": {"Enabled": True},
                    "UserData": Base64(Sub(user_data())),
                    "TagSpecifications": [
                        {
                            "ResourceType": kind,
                            "Tags": Tags(Name=Sub("${AWS::StackName}-app")),
                        }
                        for kind in ("instance", "volume")
                    ],
                }
            },
            Metadata=guard_suppress(
                "ec2_launch_template_nitro_instance_type_check",
                "InstanceType is a parameter whose allowed values are all Nitro types",
            ),
        )
    )


def _add_group(template: Template, params: AppParams) -> None:
    timeout = f"PT{params.signal_timeout_minutes}M"
    group = AutoScalingGroup(
        "AutoScalingGroup",
        VPCZoneIdentifier=Ref("PrivateSubnetIds"),
        Metadata=guard_suppress(
            "autoscaling_multiple_az_check",
            "VPCZoneIdentifier is a parameter: the root passes the private subnets of 2 or 3 AZs",
            "autoscaling_mixed_instances_policy_multiple_instance_types_check",
            "One instance type (the InstanceType parameter), sized for the site; the group "
            "spreads over 2 or 3 AZs for availability",
        ),
        LaunchTemplate=LaunchTemplateSpecification(
            LaunchTemplateId=Ref("LaunchTemplate"),
            Version=GetAtt("LaunchTemplate", "LatestVersionNumber"),
        ),
        MinSize=Ref("AppMinSize"),
        MaxSize=Ref("AppMaxSize"),
        DesiredCapacity=Ref("AppDesiredCapacity"),
        TargetGroupARNs=[Ref("TargetGroupArn")],
        HealthCheckType="ELB",
        HealthCheckGracePeriod=params.health_check_grace_seconds,
        # Instance refresh: launch the new instance before terminating an old one, and count
        # a new instance's metrics only once it has warmed up.
        DefaultInstanceWarmup=120,
        InstanceMaintenancePolicy=InstanceMaintenancePolicy(
            MinHealthyPercentage=100, MaxHealthyPercentage=200
        ),
        MetricsCollection=[MetricsCollection(Granularity="1Minute")],
        Tags=AsgTags(Name=(Sub("${AWS::StackName}-app"), True)),
        CreationPolicy=CreationPolicy(
            AutoScalingCreationPolicy=AutoScalingCreationPolicy(MinSuccessfulInstancesPercent=100),
            ResourceSignal=ResourceSignal(Count=Ref("AppDesiredCapacity"), Timeout=timeout),
        ),
        UpdatePolicy=UpdatePolicy(
            AutoScalingRollingUpdate=AutoScalingRollingUpdate(
                MinInstancesInService=Ref("AppMinSize"),
                MaxBatchSize=1,
                PauseTime=timeout,
                WaitOnResourceSignals=True,
                SuspendProcesses=[
                    "HealthCheck",
                    "ReplaceUnhealthy",
                    "AZRebalance",
                    "AlarmNotification",
                    "ScheduledActions",
                ],
            ),
            AutoScalingScheduledAction=AutoScalingScheduledAction(
                IgnoreUnmodifiedGroupSizeProperties=True
            ),
        ),
    )
    template.add_resource(group)
    template.add_resource(
        from_properties(
            ScalingPolicy,
            "RequestCountScalingPolicy",
            {
                "AutoScalingGroupName": Ref("AutoScalingGroup"),
                "PolicyType": "TargetTrackingScaling",
                "TargetTrackingConfiguration": {
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "ALBRequestCountPerTarget",
                        "ResourceLabel": Sub("${LoadBalancerFullName}/${TargetGroupFullName}"),
                    },
                    "TargetValue": Ref("RequestsPerTarget"),
                },
            },
        )
    )
    template.add_resource(
        from_properties(
            ScalingPolicy,
            "CpuScalingPolicy",
            {
                "AutoScalingGroupName": Ref("AutoScalingGroup"),
                "PolicyType": "TargetTrackingScaling",
                "TargetTrackingConfiguration": {
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "ASGAverageCPUUtilization"
                    },
                    "TargetValue": Ref("AppCpuTarget"),
                },
            },
        )
    )


def build(params: AppParams) -> Template:
    """The app stack's template."""
    template = new_template(
        "employees platform: app. Amazon Linux 2023 instances in an Auto Scaling group "
        "behind the ALB, IMDSv2, Session Manager, least-privilege role, encrypted logs."
    )
    _add_parameters(template)
    _add_rules_and_conditions(template)
    _add_key_secret_and_logs(template)
    _add_role(template)
    _add_launch_template(template, params)
    _add_group(template, params)
    rotation.add_app_password_rotation(template)
    for name, description, value in (
        (APP_SECRET_ARN, "ARN of the Django SECRET_KEY secret", Ref("DjangoSecretKey")),
        (AUTO_SCALING_GROUP_NAME, "Name of the Auto Scaling group", Ref("AutoScalingGroup")),
        (APP_LOG_GROUP, "Log group of the app", Ref("AppLogGroup")),
    ):
        template.add_output(Output(name, Description=description, Value=value))
    return template
