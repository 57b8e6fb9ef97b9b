"""Helpers every stack module shares: console-labelled parameters and the Interface metadata."""

from __future__ import annotations

from collections.abc import Sequence

from awacs import kms
from awacs.aws import (
    Allow,
    ArnLike,
    Bool,
    BoolIfExists,
    Condition,
    Deny,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from awacs.sts import AssumeRole
from troposphere import AWSHelperFn, GetAtt, Parameter, Ref, Select, Split, Sub, Template
from troposphere.kms import Key
from troposphere.logs import LogGroup

INTERFACE = "AWS::CloudFormation::Interface"
# One retention for every log group of every stack: the root passes its value to each child.
LOG_RETENTION = "LogRetentionDays"
LOGS_GROUP = "Logs"
# The periods CloudWatch Logs accepts: a year or more first; shorter ones say so in the list.
YEAR_OR_MORE_DAYS = (365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
SHORTER_DAYS = (180, 150, 120, 90, 60, 30, 14, 7, 5, 3, 1)


def add_parameter(
    template: Template,
    name: str,
    *,
    label: str,
    description: str,
    constraint_description: str,
    **properties: object,
) -> Parameter:
    """Add a parameter with its console label; a description and a constraint are not optional."""
    parameter = template.add_parameter(
        Parameter(
            name,
            Description=description,
            ConstraintDescription=constraint_description,
            **properties,
        )
    )
    interface = template.metadata.setdefault(
        INTERFACE, {"ParameterGroups": [], "ParameterLabels": {}}
    )
    interface["ParameterLabels"][name] = {"default": label}
    return parameter


def set_parameter_groups(template: Template, groups: Sequence[tuple[str, Sequence[str]]]) -> None:
    """Order the console form: one group per (label, parameter names), in the order given."""
    interface = template.metadata.setdefault(
        INTERFACE, {"ParameterGroups": [], "ParameterLabels": {}}
    )
    interface["ParameterGroups"] = [
        {"Label": {"default": label}, "Parameters": list(names)} for label, names in groups
    ]


def add_log_retention(template: Template) -> None:
    """Declare the LogRetentionDays parameter (identical in every stack that has log groups)."""
    add_parameter(
        template,
        LOG_RETENTION,
        label="Log retention (days)",
        description=(
            "Days CloudWatch Logs keeps every log group of the stack: a year or more; values "
            "shorter than a year are offered for try-outs and say so."
        ),
        constraint_description="must be one of the listed CloudWatch Logs retention periods",
        Type="String",
        Default=str(YEAR_OR_MORE_DAYS[0]),
        AllowedValues=[str(days) for days in YEAR_OR_MORE_DAYS]
        + [f"{days} (shorter than a year)" for days in SHORTER_DAYS],
    )


def group_log_retention(template: Template) -> None:
    """Put LogRetentionDays in the console's Logs group, after the stack's other groups."""
    set_parameter_groups(template, [*parameter_groups(template), (LOGS_GROUP, [LOG_RETENTION])])


def log_group(title: str, key: str, **attributes: object) -> LogGroup:
    """A log group encrypted with the stack's key ``key``, kept for LogRetentionDays."""
    return LogGroup(
        title,
        KmsKeyId=GetAtt(key, "Arn"),
        # The number of days is the parameter value's first word.
        RetentionInDays=Select(0, Split(" ", Ref(LOG_RETENTION))),
        Metadata=guard_suppress(
            "cloudwatch_log_group_retention_period_check",
            "Retention is the LogRetentionDays parameter: a year or more unless a value the "
            "console marks as shorter is chosen",
        ),
        **attributes,
    )


def parameter_groups(template: Template) -> list[tuple[str, list[str]]]:
    """The (label, parameter names) groups of a template's Interface metadata."""
    groups = template.metadata.get(INTERFACE, {}).get("ParameterGroups", [])
    return [(group["Label"]["default"], list(group["Parameters"])) for group in groups]


def parameter_label(template: Template, name: str) -> str:
    """The console label of one parameter (its name when it has none)."""
    labels = template.metadata.get(INTERFACE, {}).get("ParameterLabels", {})
    return labels.get(name, {}).get("default", name)


def account_root() -> Principal:
    """This account as a principal: in a key policy, it delegates to the account's IAM policies."""
    return Principal("AWS", Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root"))


def key_admin_statement() -> Statement:
    """Key policy statement: the account administers the key (never uses it) by named actions."""
    return Statement(
        Sid="AccountAdministersKey",
        Effect=Allow,
        Principal=account_root(),
        Action=[
            kms.CancelKeyDeletion,
            kms.DescribeKey,
            kms.DisableKey,
            kms.EnableKey,
            kms.EnableKeyRotation,
            kms.GetKeyPolicy,
            kms.GetKeyRotationStatus,
            kms.ListGrants,
            kms.ListKeyRotations,
            kms.ListResourceTags,
            kms.PutKeyPolicy,
            kms.RevokeGrant,
            kms.ScheduleKeyDeletion,
            kms.TagResource,
            kms.UntagResource,
            kms.UpdateKeyDescription,
        ],
        # In a key policy "*" means this key.
        Resource=["*"],
    )


def new_template(description: str) -> Template:
    """An empty template of one stack, with its description and the format version."""
    template = Template(Description=description)
    template.set_version("2010-09-09")
    return template


def rotating_key(title: str, description: str, policy: object, *, retain: bool, **extra) -> Key:
    """A customer-managed key with yearly rotation and a 30-day deletion window; ``retain`` keeps
    it when the stack goes (snapshots encrypted with it stay restorable)."""
    kept = "Retain" if retain else "Delete"
    return Key(
        title,
        Description=Sub(description),
        EnableKeyRotation=True,
        PendingWindowInDays=30,
        KeyPolicy=PolicyDocument(
            Version=policy.Version, Statement=[*policy.Statement, _deny_grants_outside_aws()]
        ),
        DeletionPolicy=kept,
        UpdateReplacePolicy=kept,
        **extra,
    )


def _deny_grants_outside_aws() -> Statement:
    """Key policy statement: a grant is created only for an AWS resource or by an AWS service.

    Grants delegate the key's use; one created by hand would outlive any IAM policy change.
    The form AWS Control Tower's CT.KMS.PR.3 asks for.
    """
    return Statement(
        Sid="DenyGrantsOutsideAwsServices",
        Effect=Deny,
        Principal=Principal("AWS", "*"),
        Action=[kms.CreateGrant],
        Resource=["*"],
        Condition=Condition(
            BoolIfExists(
                {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}
            )
        ),
    )


def account_grants_via(sid: str, services: Sequence[str]) -> Statement:
    """Key policy statement: as ``account_uses_key_via``, kms:CreateGrant, and only for grants
    that an AWS service creates for its resources (an encrypted volume, cluster or secret)."""
    statement = account_uses_key_via(sid, services, [kms.CreateGrant])
    statement.Condition = Condition(
        [*statement.Condition.conditions, Bool("kms:GrantIsForAWSResource", "true")]
    )
    return statement


def account_uses_key_via(sid: str, services: Sequence[str], actions: list) -> Statement:
    """Key policy statement: principals of this account whose IAM policies allow it may use the
    key, only through ``services`` (kms:ViaService) and only from this account.

    One StringEquals with both keys: two StringEquals elements would be one JSON key, and the
    second would silently replace the first.
    """
    via = [Sub(f"{service}.${{AWS::Region}}.${{AWS::URLSuffix}}") for service in services]
    return Statement(
        Sid=sid,
        Effect=Allow,
        Principal=account_root(),
        Action=actions,
        Resource=["*"],
        Condition=Condition(
            StringEquals(
                {
                    "kms:ViaService": via[0] if len(via) == 1 else via,
                    "kms:CallerAccount": Ref("AWS::AccountId"),
                }
            )
        ),
    )


def logs_key_statement() -> Statement:
    """Key policy statement: CloudWatch Logs encrypts this account's and Region's log groups.

    The log groups' generated names are not known before the key exists, so the condition names
    any log group of this account and Region. See "Encrypt log data in CloudWatch Logs using AWS
    KMS" in the CloudWatch Logs user guide.
    """
    return Statement(
        Sid="CloudWatchLogsUsesKey",
        Effect=Allow,
        Principal=Principal("Service", Sub("logs.${AWS::Region}.${AWS::URLSuffix}")),
        Action=[
            kms.Decrypt,
            kms.DescribeKey,
            kms.Encrypt,
            # As in AWS's documented key policy for CloudWatch Logs.
            kms.Action("GenerateDataKey*"),
            kms.ReEncryptFrom,
            kms.ReEncryptTo,
        ],
        Resource=["*"],
        Condition=Condition(
            ArnLike(
                "kms:EncryptionContext:aws:logs:arn",
                Sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"),
            )
        ),
    )


def checkov_skip(*checks: str) -> dict:
    """Resource Metadata that skips checkov checks: pairs of (check id, one-line reason)."""
    pairs = _reasoned("checkov_skip", "check id", checks)
    return {"checkov": {"skip": [{"id": check, "comment": reason} for check, reason in pairs]}}


def guard_suppress(*rules: str) -> dict:
    """Resource Metadata that suppresses cfn-guard rules: pairs of (rule name, one-line reason).

    ``SuppressedRules`` is the list of rule names that Guard rule sets conventionally read;
    ``Reasons`` says why for each, since that list has no room for it.
    """
    pairs = _reasoned("guard_suppress", "rule name", rules)
    return {"guard": {"SuppressedRules": [rule for rule, _ in pairs], "Reasons": dict(pairs)}}


def cfn_lint_ignore(*rules: str) -> dict:
    """Resource Metadata that makes cfn-lint ignore rules: pairs of (rule id, one-line reason).

    cfn-lint reads ``config: ignore_checks``; ``reasons`` is ours (cfn-lint leaves it alone).
    """
    pairs = _reasoned("cfn_lint_ignore", "rule id", rules)
    return {
        "cfn-lint": {
            "config": {"ignore_checks": [rule for rule, _ in pairs]},
            "reasons": dict(pairs),
        }
    }


def _reasoned(caller: str, what: str, items: Sequence[str]) -> list[tuple[str, str]]:
    if len(items) % 2 or not all(items):
        raise ValueError(f"{caller} takes ({what}, reason) pairs, got {tuple(items)!r}")
    return list(zip(items[::2], items[1::2], strict=True))


def from_properties(kind: type, title: str, properties: dict, **attributes: object) -> object:
    """A troposphere resource from plain property dicts (troposphere builds and validates the
    nested property objects), plus resource attributes such as Condition or DeletionPolicy."""
    # from_dict refuses an intrinsic function where it expects a list (Ref of a List<...>
    # parameter); those are set afterwards, as keyword arguments would be.
    plain = {k: v for k, v in properties.items() if not isinstance(v, AWSHelperFn)}
    resource = kind.from_dict(title, plain)
    for name, value in properties.items():
        if isinstance(value, AWSHelperFn):
            setattr(resource, name, value)
    for name, value in attributes.items():
        setattr(resource, name, value)
    return resource


def source_account() -> StringEquals:
    """Confused-deputy guard of a service's trust: only on behalf of this account."""
    return StringEquals("aws:SourceAccount", Ref("AWS::AccountId"))


def assumed_by(service: str, *conditions: object) -> PolicyDocument:
    """A role's trust policy: ``service`` may assume the role, under ``conditions`` if any."""
    statement = Statement(
        Effect=Allow, Principal=Principal("Service", service), Action=[AssumeRole]
    )
    if conditions:
        statement.Condition = Condition(conditions[0] if len(conditions) == 1 else list(conditions))
    return PolicyDocument(Version="2012-10-17", Statement=[statement])
