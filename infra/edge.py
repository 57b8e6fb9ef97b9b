"""The edge stack: the internet-facing load balancer, its listeners, WAF, access logs and DNS.

With a certificate, HTTPS (TLS 1.3 policy) forwards to the app and HTTP only redirects to it;
without one, a plain HTTP listener forwards (for a first try-out; the site then runs with
DJANGO_HTTPS=false). The target group sends requests to port 8000 and checks ``/healthz``.
"""

from __future__ import annotations

from dataclasses import dataclass

from awacs.aws import PolicyDocument
from troposphere import (
    And,
    Equals,
    FindInMap,
    GetAtt,
    If,
    Join,
    Not,
    Or,
    Output,
    Ref,
    Sub,
    Tags,
    Template,
)
from troposphere import Condition as ConditionRef
from troposphere.elasticloadbalancingv2 import Listener, LoadBalancer, TargetGroup
from troposphere.route53 import RecordSetType
from troposphere.s3 import Bucket, BucketPolicy
from troposphere.wafv2 import (
    AllowAction,
    AndStatement,
    BlockAction,
    ByteMatchStatement,
    CountAction,
    DefaultAction,
    FieldToMatch,
    LoggingConfiguration,
    LoggingConfigurationFieldToMatch,
    ManagedRuleGroupStatement,
    OverrideAction,
    RateBasedStatement,
    RuleAction,
    RuleActionOverride,
    SingleHeader,
    Statement,
    TextTransformation,
    VisibilityConfig,
    WebACL,
    WebACLAssociation,
    WebACLRule,
)

from .common import (
    add_log_retention,
    add_parameter,
    cfn_lint_ignore,
    checkov_skip,
    from_properties,
    group_log_retention,
    guard_suppress,
    key_admin_statement,
    log_group,
    logs_key_statement,
    new_template,
    parameter_groups,
    rotating_key,
    set_parameter_groups,
)
from .security import APP_PORT, HTTP_PORT, HTTPS_PORT

# Output names: the root wires these into the app and monitoring stacks and its own outputs.
LOAD_BALANCER_DNS_NAME = "LoadBalancerDnsName"
SITE_URL = "SiteUrl"
SITE_HOST = "SiteHost"
HTTPS_ENABLED = "HttpsEnabled"
TARGET_GROUP_ARN = "TargetGroupArn"
LOAD_BALANCER_FULL_NAME = "LoadBalancerFullName"
TARGET_GROUP_FULL_NAME = "TargetGroupFullName"
# The port-80 listener keeps the logical ID it had with a certificate, so that updating a stack
# made by an earlier version (with a certificate) changes it in place instead of adding another.
HTTP_LISTENER = "HttpRedirectListener"

HEALTH_CHECK_PATH = "/healthz"
ADMIN_LOGIN_PATH = "/admin/login/"
# TLS 1.3 and 1.2 with forward secrecy only (Elastic Load Balancing, "Security policies for
# your Application Load Balancer"): clients without TLS 1.2 are not served.
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# Condition names.
HAS_CERTIFICATE = "HasCertificate"
HAS_DOMAIN = "HasDomain"
HAS_DNS_RECORD = "HasDnsRecord"
WAF_ENABLED = "WafEnabled"
LEGACY_LOG_REGION = "LegacyLogDeliveryRegion"
LOG_ACCOUNTS = "ElbLogDeliveryAccounts"
# Managed rule groups that a parameter switches between counting and blocking, with the
# parameter's name and default: SQL injection counts at first (the admin's free-text fields
# may trip it; watch its matches before blocking); the IP reputation list blocks.
SWITCHABLE_GROUPS = (
    ("AWSManagedRulesSQLiRuleSet", "WafSqlInjectionAction", "Count"),
    ("AWSManagedRulesAmazonIpReputationList", "WafIpReputationAction", "Block"),
)
# Headers that carry credentials: WAF's logs show them as REDACTED.
REDACTED_HEADERS = ("authorization", "cookie")

# Regions opened before August 2022 deliver ALB access logs from a per-Region Elastic Load
# Balancing account; later ones from the logdelivery.elasticloadbalancing service principal
# ("Enable access logs for your Application Load Balancer", step 2). This is the one place a
# template names Regions: they are facts about AWS, not where this stack runs.
ELB_LOG_ACCOUNTS = {
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887",
    "ap-northeast-3": "383597477331",
    "ap-south-1": "718504428378",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-southeast-3": "589379963580",
    "ca-central-1": "985666609251",
    "cn-north-1": "638102146993",
    "cn-northwest-1": "037604701340",
    "eu-central-1": "054676820928",
    "eu-north-1": "897822967062",
    "eu-south-1": "635631232127",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-west-3": "009996457667",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-gov-east-1": "190560391635",
    "us-gov-west-1": "048591011584",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
}


@dataclass(frozen=True)
class EdgeParams:
    """Build options of the edge stack."""

    deregistration_delay_seconds: int = 30

    def __post_init__(self) -> None:
        value = self.deregistration_delay_seconds
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3600:
            raise ValueError(
                f"deregistration_delay_seconds={value!r} must be an integer from 0 to 3600"
            )


def _add_parameters(template: Template) -> None:
    add_parameter(
        template,
        "VpcId",
        label="VPC",
        description="ID of the VPC of the target group (the network stack's VPC).",
        constraint_description="must be the ID of an existing VPC",
        Type="AWS::EC2::VPC::Id",
    )
    add_parameter(
        template,
        "PublicSubnetIds",
        label="Public subnets",
        description="Public subnets, one per AZ, for the load balancer.",
        constraint_description="must be IDs of existing subnets",
        Type="List<AWS::EC2::Subnet::Id>",
    )
    add_parameter(
        template,
        "LoadBalancerSecurityGroupId",
        label="Load balancer security group",
        description="Security group of the load balancer (80/443 in, 8000 to the app out).",
        constraint_description="must be the ID of an existing security group",
        Type="AWS::EC2::SecurityGroup::Id",
    )
    add_parameter(
        template,
        "CertificateArn",
        label="ACM certificate ARN",
        description=(
            "ACM certificate of DomainName in this Region: HTTPS with HTTP redirected to it. "
            "Empty: plain HTTP only (for a try-out; the site then sets DJANGO_HTTPS=false)."
        ),
        constraint_description="must be empty or an ACM certificate ARN",
        Type="String",
        Default="",
        AllowedPattern=r"^(arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]+)?$",
    )
    add_parameter(
        template,
        "DomainName",
        label="Site domain name",
        description="Host name of the site, such as www.example.com. Empty: the ALB's name.",
        constraint_description="must be empty or a lowercase DNS name",
        Type="String",
        Default="",
        AllowedPattern=r"^(([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})?$",
        MaxLength=253,
    )
    add_parameter(
        template,
        "HostedZoneId",
        label="Route 53 hosted zone ID",
        description="Public hosted zone of DomainName: an alias record is made there. Optional.",
        constraint_description="must be empty or a Route 53 hosted zone ID (Z...)",
        Type="String",
        Default="",
        AllowedPattern=r"^(Z[A-Z0-9]{1,32})?$",
    )
    add_parameter(
        template,
        "LoadBalancerDeletionProtection",
        label="Load balancer deletion protection",
        description=(
            "true: the load balancer cannot be deleted until this is set to false. Off by "
            "default: it holds no data, and a rollback of a failed create must delete it."
        ),
        constraint_description="must be true or false",
        Type="String",
        Default="false",
        AllowedValues=["true", "false"],
    )
    add_parameter(
        template,
        "Waf",
        label="WAF",
        description=(
            "Enabled: AWS WAF with AWS's managed common, known-bad-inputs, SQL injection and IP "
            "reputation rules, a per-IP rate limit on admin login POSTs, logs in CloudWatch Logs."
        ),
        constraint_description="must be Enabled or Disabled",
        Type="String",
        Default="Enabled",
        AllowedValues=["Enabled", "Disabled"],
    )
    add_parameter(
        template,
        "AdminLoginRateLimit",
        label="Admin login rate limit",
        description=f"Login POSTs to {ADMIN_LOGIN_PATH} per client IP in 5 minutes before a block.",
        constraint_description="must be from 10 to 2000000000",
        Type="Number",
        Default=100,
        MinValue=10,
        MaxValue=2000000000,
    )
    add_parameter(
        template,
        "AccessLogDays",
        label="Access log retention (days)",
        description="Days the load balancer's access logs are kept in their S3 bucket.",
        constraint_description="must be from 1 to 3650",
        Type="Number",
        Default=90,
        MinValue=1,
        MaxValue=3650,
    )
    set_parameter_groups(
        template,
        [
            (
                "Site address",
                ["DomainName", "CertificateArn", "HostedZoneId"],
            ),
            (
                "Load balancer",
                ["LoadBalancerDeletionProtection", "Waf", "AdminLoginRateLimit", "AccessLogDays"],
            ),
            ("Load balancer wiring", ["VpcId", "PublicSubnetIds", "LoadBalancerSecurityGroupId"]),
        ],
    )


def _any_of(conditions: list) -> object:
    """Fn::Or of any number of conditions (one Fn::Or takes 2 to 10)."""
    if len(conditions) <= 10:
        return Or(*conditions)
    return Or(Or(*conditions[:9]), _any_of(conditions[9:]))


def _add_conditions(template: Template) -> None:
    template.add_condition(HAS_CERTIFICATE, Not(Equals(Ref("CertificateArn"), "")))
    template.add_condition(HAS_DOMAIN, Not(Equals(Ref("DomainName"), "")))
    template.add_condition(
        HAS_DNS_RECORD, And(ConditionRef(HAS_DOMAIN), Not(Equals(Ref("HostedZoneId"), "")))
    )
    template.add_condition(WAF_ENABLED, Equals(Ref("Waf"), "Enabled"))
    template.add_condition(
        LEGACY_LOG_REGION,
        _any_of([Equals(Ref("AWS::Region"), region) for region in sorted(ELB_LOG_ACCOUNTS)]),
    )
    template.add_mapping(
        LOG_ACCOUNTS, {region: {"Account": account} for region, account in ELB_LOG_ACCOUNTS.items()}
    )
    template.add_rule(
        "HostedZoneNeedsDomainName",
        {
            "RuleCondition": Not(Equals(Ref("HostedZoneId"), "")),
            "Assertions": [
                {
                    "Assert": Not(Equals(Ref("DomainName"), "")),
                    "AssertDescription": "HostedZoneId needs DomainName (the record's name)",
                }
            ],
        },
    )
    template.add_rule(
        "CertificateNeedsDomainName",
        {
            "RuleCondition": Not(Equals(Ref("CertificateArn"), "")),
            "Assertions": [
                {
                    "Assert": Not(Equals(Ref("DomainName"), "")),
                    # Else the site would be https://<the ALB's name>, which no certificate covers.
                    "AssertDescription": "CertificateArn needs DomainName (the name it covers)",
                }
            ],
        },
    )


def _add_access_logs(template: Template) -> None:
    template.add_resource(
        from_properties(
            Bucket,
            "AccessLogBucket",
            {
                # Access logs support only SSE-S3 (the bucket requirements of ALB access logs).
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                    ]
                },
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "VersioningConfiguration": {"Status": "Enabled"},
                "LifecycleConfiguration": {
                    "Rules": [
                        {
                            "Id": "expire-access-logs",
                            "Status": "Enabled",
                            "ExpirationInDays": Ref("AccessLogDays"),
                            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
                            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                        }
                    ]
                },
            },
            Metadata=checkov_skip(
                "CKV_AWS_18",
                "This is the access log bucket; logging it to itself would loop",
            )
            | guard_suppress(
                "s3_bucket_logging_enabled_check",
                "This is the access log bucket; logging it to itself would loop",
                "s3_bucket_default_encryption_kms_check",
                "ALB access logs support only SSE-S3, not SSE-KMS",
                "s3_event_notifications_enabled_check",
                "Nothing consumes events of this bucket: logs are read on demand",
                "s3_bucket_object_lock_enabled_check",
                "Logs must expire by the lifecycle rule; the bucket is versioned and retained",
            ),
            # Logs are evidence: they outlive the stack and expire by the lifecycle rule.
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
        )
    )
    writer = If(
        LEGACY_LOG_REGION,
        {
            "AWS": Sub(
                "arn:${AWS::Partition}:iam::${Account}:root",
                Account=FindInMap(LOG_ACCOUNTS, Ref("AWS::Region"), "Account"),
            )
        },
        {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
    )
    template.add_resource(
        BucketPolicy(
            "AccessLogBucketPolicy",
            Bucket=Ref("AccessLogBucket"),
            PolicyDocument={
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "LoadBalancerWritesAccessLogs",
                        "Effect": "Allow",
                        "Principal": writer,
                        "Action": ["s3:PutObject"],
                        "Resource": [
                            Sub("${AccessLogBucket.Arn}/AWSLogs/${AWS::AccountId}/*"),
                        ],
                    },
                    _deny_without_tls("AccessLogBucket"),
                ],
            },
            Metadata=cfn_lint_ignore(
                "I1022", "Guard's CT.S3.PR.8 reads the objects' ARN only from an Fn::Join"
            ),
        )
    )


_REDIRECT_TO_HTTPS = {
    "Type": "redirect",
    "RedirectConfig": {"Protocol": "HTTPS", "Port": str(HTTPS_PORT), "StatusCode": "HTTP_301"},
}


def _deny_without_tls(bucket: str) -> dict:
    """Bucket policy statement: every request to the bucket or its objects needs TLS."""
    arn = GetAtt(bucket, "Arn")
    return {
        "Sid": "DenyWithoutTls",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": ["s3:*"],
        "Resource": [arn, Join("", [arn, "/*"])],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def _add_load_balancer(template: Template, params: EdgeParams) -> None:
    template.add_resource(
        from_properties(
            LoadBalancer,
            "LoadBalancer",
            {
                # The load balancer checks that it may write its logs when it is created.
                "Type": "application",
                "Scheme": "internet-facing",
                "Subnets": Ref("PublicSubnetIds"),
                "SecurityGroups": [Ref("LoadBalancerSecurityGroupId")],
                "LoadBalancerAttributes": [
                    {
                        "Key": "deletion_protection.enabled",
                        "Value": Ref("LoadBalancerDeletionProtection"),
                    },
                    {"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"},
                    # defensive: blocks requests that are a known desync risk, lets through the
                    # merely unusual ones that strictest would also drop.
                    {"Key": "routing.http.desync_mitigation_mode", "Value": "defensive"},
                    {"Key": "access_logs.s3.enabled", "Value": "true"},
                    {"Key": "access_logs.s3.bucket", "Value": Ref("AccessLogBucket")},
                ],
                "Tags": Tags(Name=Sub("${AWS::StackName}-alb")),
            },
            DependsOn="AccessLogBucketPolicy",
            Metadata=guard_suppress(
                "elbv2_deletion_protection_enabled_check",
                "Deletion protection is the LoadBalancerDeletionProtection parameter, which "
                "Guard cannot read",
            ),
        )
    )
    template.add_resource(
        from_properties(
            TargetGroup,
            "TargetGroup",
            {
                "VpcId": Ref("VpcId"),
                "TargetType": "instance",
                "Protocol": "HTTP",
                "Port": APP_PORT,
                "HealthCheckEnabled": True,
                "HealthCheckProtocol": "HTTP",
                "HealthCheckPath": HEALTH_CHECK_PATH,
                "HealthCheckIntervalSeconds": 15,
                "HealthCheckTimeoutSeconds": 5,
                "HealthyThresholdCount": 2,
                "UnhealthyThresholdCount": 3,
                "Matcher": {"HttpCode": "200"},
                "TargetGroupAttributes": [
                    # Requests to this site take well under a second; 30 s lets the slow ones end
                    # without holding every deployment for the 300 s default.
                    {
                        "Key": "deregistration_delay.timeout_seconds",
                        "Value": str(params.deregistration_delay_seconds),
                    },
                    {"Key": "load_balancing.algorithm.type", "Value": "least_outstanding_requests"},
                ],
                "Tags": Tags(Name=Sub("${AWS::StackName}-app")),
            },
        )
    )
    forward = [{"Type": "forward", "TargetGroupArn": Ref("TargetGroup")}]
    template.add_resource(
        from_properties(
            Listener,
            "HttpsListener",
            {
                "LoadBalancerArn": Ref("LoadBalancer"),
                "Protocol": "HTTPS",
                "Port": HTTPS_PORT,
                "SslPolicy": TLS_POLICY,
                "Certificates": [{"CertificateArn": Ref("CertificateArn")}],
                "DefaultActions": forward,
            },
            Condition=HAS_CERTIFICATE,
            Metadata=guard_suppress(
                "elbv2_acm_certificate_required_check",
                "The certificate is the CertificateArn parameter, an ACM ARN by its AllowedPattern",
            ),
        )
    )
    # One port-80 listener whose actions follow the certificate: two listeners swapped by
    # complementary Conditions would make an update that sets or clears CertificateArn create
    # the new one before deleting the old, and Elastic Load Balancing refuses a second listener
    # on a port (DuplicateListener), so the update rolls back.
    template.add_resource(
        from_properties(
            Listener,
            HTTP_LISTENER,
            {
                "LoadBalancerArn": Ref("LoadBalancer"),
                "Protocol": "HTTP",
                "Port": HTTP_PORT,
                "DefaultActions": If(HAS_CERTIFICATE, [_REDIRECT_TO_HTTPS], forward),
            },
            Metadata=checkov_skip(
                "CKV_AWS_2",
                "Forwards plain HTTP only without CertificateArn (try-out); with one it redirects",
                "CKV_AWS_103",
                "Plain HTTP only without CertificateArn (try-out); HTTPS listener uses TLS 1.3",
            )
            | guard_suppress(
                "alb_http_to_https_redirection_check",
                "Forwards plain HTTP only without CertificateArn (try-out); with one it redirects",
            ),
        )
    )


def _visibility(name: str) -> VisibilityConfig:
    return VisibilityConfig(
        CloudWatchMetricsEnabled=True, MetricName=name, SampledRequestsEnabled=True
    )


# Rules of the managed groups that only count (are logged, never block): the common rule set
# blocks request bodies over 8 KB, which the admin's bulk actions over many rows and long forms
# exceed; Django validates and limits what it accepts (DATA_UPLOAD_MAX_MEMORY_SIZE).
COUNT_ONLY = {"AWSManagedRulesCommonRuleSet": ("SizeRestrictions_BODY",)}


def _add_waf_parameters(template: Template) -> None:
    """The WAF's switches and the log retention, in console groups after the stack's others."""
    for group, parameter, default in SWITCHABLE_GROUPS:
        add_parameter(
            template,
            parameter,
            label=f"WAF {group.removeprefix('AWSManagedRules')}",
            description=(
                f"Block: requests that AWS's {group} rule group matches are blocked. "
                "Count: they are only counted and logged (to watch before blocking)."
            ),
            constraint_description="must be Block or Count",
            Type="String",
            Default=default,
            AllowedValues=["Block", "Count"],
        )
        template.add_condition(_blocks(parameter), Equals(Ref(parameter), "Block"))
    add_log_retention(template)
    set_parameter_groups(
        template,
        [
            *parameter_groups(template),
            ("WAF rules", [parameter for _, parameter, _ in SWITCHABLE_GROUPS]),
        ],
    )
    group_log_retention(template)


def _blocks(parameter: str) -> str:
    """Name of the condition that is true when a switch parameter says Block."""
    return parameter.removesuffix("Action") + "Blocks"


def _managed(name: str, priority: int, blocks: str | None = None) -> WebACLRule:
    overrides = [
        RuleActionOverride(Name=rule, ActionToUse=RuleAction(Count=CountAction()))
        for rule in COUNT_ONLY.get(name, ())
    ]
    group = ManagedRuleGroupStatement(VendorName="AWS", Name=name)
    if overrides:
        group.RuleActionOverrides = overrides
    action = OverrideAction(**{"None": {}})
    if blocks:
        action = If(blocks, action, OverrideAction(Count={}))
    return WebACLRule(
        Name=name,
        Priority=priority,
        OverrideAction=action,
        Statement=Statement(ManagedRuleGroupStatement=group),
        VisibilityConfig=_visibility(name),
    )


def _admin_login_posts() -> Statement:
    """Login attempts: POSTs to the login path in any spelling that reaches Django's view.

    gunicorn percent-decodes the path before Django routes it, so ``/admin/%6Cogin/`` and
    ``/admin%2Flogin/`` are the login view too: match the decoded, normalised (repeated
    slashes, ``/./``), lower-cased path. Without the trailing slash: a POST to ``/admin/login``
    is still an attempt, and counting a little more is safe.
    """
    path = ByteMatchStatement(
        FieldToMatch=FieldToMatch(UriPath={}),
        PositionalConstraint="STARTS_WITH",
        SearchString=ADMIN_LOGIN_PATH.rstrip("/"),
        TextTransformations=[
            TextTransformation(Priority=priority, Type=kind)
            for priority, kind in enumerate(("URL_DECODE", "NORMALIZE_PATH", "LOWERCASE"))
        ],
    )
    post = ByteMatchStatement(
        FieldToMatch=FieldToMatch(Method={}),
        PositionalConstraint="EXACTLY",
        SearchString="post",
        TextTransformations=[TextTransformation(Priority=0, Type="LOWERCASE")],
    )
    return Statement(
        AndStatement=AndStatement(
            Statements=[Statement(ByteMatchStatement=post), Statement(ByteMatchStatement=path)]
        )
    )


def _admin_login_rate_limit() -> WebACLRule:
    return WebACLRule(
        Name="AdminLoginRateLimit",
        Priority=0,
        Action=RuleAction(Block=BlockAction()),
        Statement=Statement(
            RateBasedStatement=RateBasedStatement(
                Limit=Ref("AdminLoginRateLimit"),
                EvaluationWindowSec=300,
                AggregateKeyType="IP",
                ScopeDownStatement=_admin_login_posts(),
            )
        ),
        VisibilityConfig=_visibility("admin-login-rate-limit"),
    )


def _add_waf(template: Template) -> None:
    template.add_resource(
        WebACL(
            "WebAcl",
            Condition=WAF_ENABLED,
            Scope="REGIONAL",
            DefaultAction=DefaultAction(Allow=AllowAction()),
            VisibilityConfig=_visibility("web-acl"),
            Rules=[
                _admin_login_rate_limit(),
                _managed("AWSManagedRulesCommonRuleSet", 1),
                _managed("AWSManagedRulesKnownBadInputsRuleSet", 2),
                *(
                    _managed(group, priority, _blocks(parameter))
                    for priority, (group, parameter, _) in enumerate(SWITCHABLE_GROUPS, start=3)
                ),
            ],
        )
    )
    _add_waf_logs(template)
    template.add_resource(
        WebACLAssociation(
            "WebAclAssociation",
            Condition=WAF_ENABLED,
            ResourceArn=Ref("LoadBalancer"),
            WebACLArn=GetAtt("WebAcl", "Arn"),
        )
    )


def _add_waf_logs(template: Template) -> None:
    """The web ACL's logs: a CloudWatch Logs group under a key of this stack.

    Group and key exist whether or not the WAF is on: switching it off must not delete the logs
    it wrote, and a group retained instead would hold the fixed name when it is switched on
    again (the update would fail). An empty group costs nothing; the logs expire by retention.
    """
    template.add_resource(
        rotating_key(
            "WafLogKey",
            "WAF logs of ${AWS::StackName}",
            PolicyDocument(
                Version="2012-10-17", Statement=[key_admin_statement(), logs_key_statement()]
            ),
            retain=False,
        )
    )
    template.add_resource(
        log_group(
            "WafLogGroup",
            "WafLogKey",
            # WAF logs only to log groups whose names start with aws-waf-logs-.
            LogGroupName=Sub("aws-waf-logs-${AWS::StackName}"),
            DeletionPolicy="Delete",
            UpdateReplacePolicy="Delete",
        )
    )
    template.add_resource(
        LoggingConfiguration(
            "WafLogging",
            Condition=WAF_ENABLED,
            ResourceArn=GetAtt("WebAcl", "Arn"),
            # The log group's ARN without the ":*" that its Arn attribute ends with.
            LogDestinationConfigs=[
                Sub(
                    "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:"
                    "log-group:${Group}",
                    Group=Ref("WafLogGroup"),
                )
            ],
            RedactedFields=[
                LoggingConfigurationFieldToMatch(SingleHeader=SingleHeader(Name=name))
                for name in REDACTED_HEADERS
            ],
        )
    )


def _add_dns(template: Template) -> None:
    template.add_resource(
        from_properties(
            RecordSetType,
            "DnsRecord",
            {
                "HostedZoneId": Ref("HostedZoneId"),
                "Name": Ref("DomainName"),
                "Type": "A",
                "AliasTarget": {
                    "DNSName": GetAtt("LoadBalancer", "DNSName"),
                    "HostedZoneId": GetAtt("LoadBalancer", "CanonicalHostedZoneID"),
                    "EvaluateTargetHealth": True,
                },
            },
            Condition=HAS_DNS_RECORD,
        )
    )


def _add_outputs(template: Template) -> None:
    host = If(HAS_DOMAIN, Ref("DomainName"), GetAtt("LoadBalancer", "DNSName"))
    for name, description, value in (
        (
            LOAD_BALANCER_DNS_NAME,
            "DNS name of the load balancer (point a CNAME or alias here without HostedZoneId)",
            GetAtt("LoadBalancer", "DNSName"),
        ),
        (
            SITE_URL,
            "URL of the site",
            Join("", [If(HAS_CERTIFICATE, "https://", "http://"), host]),
        ),
        (SITE_HOST, "Host name clients use (DJANGO_ALLOWED_HOSTS)", host),
        (
            HTTPS_ENABLED,
            "true when the site is served over HTTPS",
            If(HAS_CERTIFICATE, "true", "false"),
        ),
        (TARGET_GROUP_ARN, "ARN of the app's target group", Ref("TargetGroup")),
        (
            LOAD_BALANCER_FULL_NAME,
            "Load balancer dimension of its CloudWatch metrics",
            GetAtt("LoadBalancer", "LoadBalancerFullName"),
        ),
        (
            TARGET_GROUP_FULL_NAME,
            "Target group dimension of its CloudWatch metrics",
            GetAtt("TargetGroup", "TargetGroupFullName"),
        ),
    ):
        template.add_output(Output(name, Description=description, Value=value))


def build(params: EdgeParams) -> Template:
    """The edge stack's template."""
    template = new_template(
        "employees platform: edge. Internet-facing ALB (HTTPS with TLS 1.3 when a "
        "certificate is given), optional WAF and Route 53 alias, access logs in S3."
    )
    _add_parameters(template)
    _add_conditions(template)
    _add_waf_parameters(template)
    _add_access_logs(template)
    _add_load_balancer(template, params)
    _add_waf(template)
    _add_dns(template)
    _add_outputs(template)
    return template
