"""Properties every template must have, whatever stack it describes."""

from __future__ import annotations

import re

from cfnlint.data import AdditionalSpecs
from cfnlint.helpers import load_resource

from infra import build as builder
from infra import edge, root
from infra.common import INTERFACE

from .helpers import DOCUMENTED_WILDCARDS, az_index, refs, resources, walk

CONSTRAINTS = {"AllowedPattern", "AllowedValues", "MinValue", "MaxValue", "MinLength", "MaxLength"}
# CloudFormation quotas (AWS CloudFormation User Guide, "Understand CloudFormation quotas").
# root.yaml is always uploaded to S3 and read by TemplateURL (the console's "Amazon S3 URL",
# deploy's packaging), so its limit is 1 MB, not the 51,200 bytes of an inline TemplateBody:
# that leaves room for every child's Rules on the root.
TEMPLATE_URL_LIMIT = 1_000_000
MAX_RESOURCES, MAX_PARAMETERS, MAX_OUTPUTS = 500, 200, 200
# An AZ name (us-east-1a) or a Region name (eu-west-3, us-gov-west-1).
AWS_PLACE = re.compile(r"\b[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d[a-z]?\b")
# The property that would fix a resource's physical name. Fixed names stop two stacks (staging
# and production) from living in one account, and block replacement updates.
NAME_PROPERTIES = {
    "AWS::AutoScaling::AutoScalingGroup": "AutoScalingGroupName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::EC2::LaunchTemplate": "LaunchTemplateName",
    "AWS::EC2::SecurityGroup": "GroupName",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "Name",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "Name",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::RDS::DBCluster": "DBClusterIdentifier",
    "AWS::RDS::DBInstance": "DBInstanceIdentifier",
    "AWS::S3::Bucket": "BucketName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SecretsManager::Secret": "Name",
}


def test_every_parameter_has_description_constraint_and_message(templates):
    """Every parameter of every template has a description, a constraint and its message."""
    for name, template in templates.items():
        for parameter_name, parameter in template.get("Parameters", {}).items():
            where = f"{name}.{parameter_name}"
            assert parameter.get("Description"), where
            assert parameter.get("ConstraintDescription"), where
            # An AWS-specific type (AWS::EC2::VPC::Id, List<...>) is itself the constraint.
            aws_type = parameter["Type"].startswith(("AWS::", "List<AWS::"))
            assert aws_type or CONSTRAINTS & set(parameter), where


def test_every_parameter_has_a_console_label_and_group(templates):
    """Every parameter appears in exactly one Interface group and has a label."""
    for name, template in templates.items():
        interface = template["Metadata"][INTERFACE]
        grouped = [p for group in interface["ParameterGroups"] for p in group["Parameters"]]
        assert sorted(grouped) == sorted(template["Parameters"]), name
        assert set(interface["ParameterLabels"]) == set(template["Parameters"]), name


def test_templates_stay_far_below_cloudformation_limits(templates):
    """root.yaml stays under the 1 MB TemplateURL limit; every template is far below it."""
    rendered = builder.render(root.RootParams())
    assert len(rendered["root.yaml"].encode()) < TEMPLATE_URL_LIMIT
    for name, text in rendered.items():
        assert len(text.encode()) < TEMPLATE_URL_LIMIT / 10, name
    for name, compiled in templates.items():
        assert len(compiled["Resources"]) < MAX_RESOURCES / 4, name
        assert len(compiled.get("Parameters", {})) < MAX_PARAMETERS / 4, name
        assert len(compiled.get("Outputs", {})) < MAX_OUTPUTS / 4, name


def without_elb_log_accounts(template: dict) -> dict:
    """The template without the one table that must name Regions: the per-Region accounts that
    deliver ALB access logs (and the condition that picks them)."""
    trimmed = {**template, "Mappings": dict(template.get("Mappings", {}))}
    trimmed["Mappings"].pop(edge.LOG_ACCOUNTS, None)
    trimmed["Conditions"] = dict(template.get("Conditions", {}))
    trimmed["Conditions"].pop(edge.LEGACY_LOG_REGION, None)
    return trimmed


def test_no_hard_coded_availability_zone_or_region(templates):
    """No template names an AZ or a Region; AZs come from Fn::GetAZs of the current Region."""
    for name, template in templates.items():
        for item in walk(without_elb_log_accounts(template)):
            if isinstance(item, str):
                assert not AWS_PLACE.search(item), f"{name}: {item!r}"
    for subnet in resources(templates["network"], "AWS::EC2::Subnet").values():
        az_index(subnet)


def test_stateful_resources_have_explicit_policies(templates):
    """Every resource type cfn-lint I3011 deems stateful sets both deletion policies."""
    stateful = load_resource(AdditionalSpecs, "StatefulResources.json")["ResourceTypes"]
    for name, template in templates.items():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] in stateful:
                assert {"DeletionPolicy", "UpdateReplacePolicy"} <= set(resource), (
                    f"{name}.{logical_id}"
                )


def derived_from_the_stack(value: object, template: dict) -> bool:
    """A name built with Fn::Sub from the stack's name or ID or a resource the stack creates
    (a name AWS prescribes a form for: aws-waf-logs-..., /aws/rds/cluster/<id>/...)."""
    if not (isinstance(value, dict) and set(value) == {"Fn::Sub"}):
        return False
    text, variables = (
        (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
    )
    names = set(re.findall(r"\$\{([\w:.]+)\}", text))
    generated = {"AWS::StackName", "AWS::StackId", *template["Resources"]}
    return any(name in generated or refs(variables.get(name, {})) & generated for name in names)


def test_no_resource_has_a_fixed_name(templates):
    """No resource fixes its physical name, so stacks can live side by side in one account:
    a name, where AWS prescribes one, derives from the stack or a resource it creates."""
    for name, template in templates.items():
        for kind, property_name in NAME_PROPERTIES.items():
            for logical_id, resource in resources(template, kind).items():
                value = resource.get("Properties", {}).get(property_name)
                assert value is None or derived_from_the_stack(value, template), (
                    f"{name}.{logical_id}"
                )


def test_no_iam_action_has_a_wildcard(templates):
    """IAM and key policies allow named actions only: no "*" or "service:*" beyond what AWS
    documents for CloudWatch Logs' use of a key; a Deny may be broad."""
    for name, template in templates.items():
        for item in walk(template):
            if isinstance(item, dict) and "Effect" in item and "Action" in item:
                actions = item["Action"] if isinstance(item["Action"], list) else [item["Action"]]
                if item["Effect"] == "Deny":
                    continue  # a broad deny only takes more away
                for action in actions:
                    assert "*" not in action or action in DOCUMENTED_WILDCARDS, f"{name}: {action}"
                assert "NotAction" not in item, name


def policy_statements(node: object, in_key_policy: bool = False):
    """(statement, whether it is in a KMS key policy) for every policy statement in a node."""
    if isinstance(node, dict):
        if "Effect" in node and "Action" in node:
            yield node, in_key_policy
            return
        for key, value in node.items():
            yield from policy_statements(value, in_key_policy or key == "KeyPolicy")
    elif isinstance(node, list):
        for value in node:
            yield from policy_statements(value, in_key_policy)


def unnamed_wildcard(resource: object) -> bool:
    """A resource with a "*" that names nothing of the stack: "*", or an ARN built with Fn::Sub or
    Fn::Join from pseudo parameters only (e.g. every log group of the account)."""
    if isinstance(resource, str):
        return "*" in resource
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        text = resource["Fn::Sub"] if isinstance(resource["Fn::Sub"], str) else ""
        named = [r for r in re.findall(r"\$\{([^}]+)\}", text) if not r.startswith("AWS::")]
        return "*" in text and not named
    if isinstance(resource, dict) and "Fn::Join" in resource:
        parts = resource["Fn::Join"][1]
        named = [
            p
            for p in parts
            if isinstance(p, dict) and not str(p.get("Ref", "")).startswith("AWS::")
        ]
        return any(isinstance(p, str) and "*" in p for p in parts) and not named
    return False


def _tag_names_a_resource_of_the_stack(statement: dict) -> bool:
    equals = statement.get("Condition", {}).get("StringEquals", {})
    return any(
        "resourceTag/" in key and isinstance(value, dict) and "Ref" in value
        for key, value in equals.items()
    )


def test_every_iam_resource_is_named_except_where_the_service_requires_a_wildcard(templates):
    """A wildcard resource ("*", or an ARN naming no resource of the stack, in Fn::Sub or
    Fn::Join too) appears only in key policies (there "*" means "this key"), for
    cloudwatch:PutMetricData, ec2:DescribeTags and application-autoscaling's Describe (no
    resource type), for the reader clean-up's RDS calls on instances whose names RDS picks when
    auto scaling adds them, and where a resource-tag condition names the stack's resources
    (instances an Auto Scaling group launches); all else is named."""
    for name, template in templates.items():
        for statement, in_key_policy in policy_statements(template["Resources"]):
            resources_ = statement.get("Resource", [])
            resources_ = resources_ if isinstance(resources_, list) else [resources_]
            wildcard = [r for r in resources_ if unnamed_wildcard(r)]
            if not wildcard or _tag_names_a_resource_of_the_stack(statement):
                continue
            assert in_key_policy or statement["Action"] in (
                ["cloudwatch:PutMetricData"],
                ["ec2:DescribeTags"],
                ["application-autoscaling:DescribeScalableTargets"],
                ["application-autoscaling:DeregisterScalableTarget"],
                ["rds:DescribeDBInstances"],
                ["rds:DeleteDBInstance"],
            ), f"{name}: {statement}"
