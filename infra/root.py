"""The root stack: nests every child stack and wires their outputs into each other's parameters.

This is the only module that knows more than one stack. A child parameter is either wired (the
root passes another child's output, ``GetAtt <Child>Stack.Outputs.<Name>``) or exposed (the root
declares the same parameter, with the child's description, constraint and console label, and
passes it through). Building the root parameters from the children's own declarations keeps the
two in step by construction; ``python -m infra lint`` checks it again with cfn-lint's E3043.

A console user uploads the child templates to ``s3://<TemplatesBucket>/<TemplatesPrefix>`` and
creates the stack from ``root.yaml`` (the AWS Quick Start layout).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from troposphere import GetAtt, Output, Ref, Sub, Template, encode_to_dict
from troposphere.cloudformation import Stack

from . import app, database, edge, monitoring, network, security
from .common import (
    add_parameter,
    new_template,
    parameter_groups,
    parameter_label,
    set_parameter_groups,
)

TEMPLATES_BUCKET = "TemplatesBucket"
TEMPLATES_PREFIX = "TemplatesPrefix"

# Root output names (the deploy tool and the README rely on them).
VPC_ID = "VpcId"


@dataclass(frozen=True)
class RootParams:
    """Build options of every stack, one field per child stack."""

    network: network.NetworkParams = field(default_factory=network.NetworkParams)
    security: security.SecurityParams = field(default_factory=security.SecurityParams)
    database: database.DatabaseParams = field(default_factory=database.DatabaseParams)
    edge: edge.EdgeParams = field(default_factory=edge.EdgeParams)
    app: app.AppParams = field(default_factory=app.AppParams)
    monitoring: monitoring.MonitoringParams = field(default_factory=monitoring.MonitoringParams)

    def __post_init__(self) -> None:
        for name, kind in (
            ("network", network.NetworkParams),
            ("security", security.SecurityParams),
            ("database", database.DatabaseParams),
            ("edge", edge.EdgeParams),
            ("app", app.AppParams),
            ("monitoring", monitoring.MonitoringParams),
        ):
            if not isinstance(getattr(self, name), kind):
                raise ValueError(f"{name} must be {kind.__name__}, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class Wire:
    """A child stack's output, as the value of another child's parameter or of a root output."""

    stack: str
    output: str

    def value(self) -> GetAtt:
        return GetAtt(logical_id(self.stack), f"Outputs.{self.output}")


@dataclass(frozen=True)
class Child:
    """A nested stack: its file name stem, its template, and which parameters are wired."""

    name: str
    template: Template
    wiring: Mapping[str, Wire] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name.isalnum() or not self.name.islower():
            raise ValueError(f"child stack name {self.name!r} must be lowercase letters/digits")


@dataclass(frozen=True)
class RootOutput:
    """An output of the root stack, forwarded from a child's output."""

    name: str
    description: str
    source: Wire


OUTPUTS = (
    RootOutput(edge.SITE_URL, "URL of the site", Wire("edge", edge.SITE_URL)),
    RootOutput(
        edge.LOAD_BALANCER_DNS_NAME,
        "DNS name of the load balancer",
        Wire("edge", edge.LOAD_BALANCER_DNS_NAME),
    ),
    RootOutput(VPC_ID, "ID of the VPC", Wire("network", network.VPC_ID)),
    *(
        RootOutput(name, description, Wire("database", name))
        for name, description in (
            (database.WRITER_ENDPOINT, "Aurora cluster (writer) endpoint: DB_WRITER_HOST"),
            (database.READER_ENDPOINT, "Aurora reader endpoint: DB_READER_HOST"),
            (database.DB_PORT_OUTPUT, "MySQL port of both endpoints: DB_WRITER_PORT/READER_PORT"),
            (database.DB_NAME, "Application database name: DB_NAME"),
            (database.DB_SECRET_ARN, "ARN of the application user's secret: DB_SECRET_ID"),
            (
                database.DB_MASTER_SECRET_ARN,
                "ARN of the RDS-managed master secret: DB_MIGRATE_SECRET_ID (migrate only)",
            ),
        )
    ),
    RootOutput(
        app.APP_SECRET_ARN,
        "ARN of the Django SECRET_KEY secret: DJANGO_SECRET_KEY_SECRET_ID",
        Wire("app", app.APP_SECRET_ARN),
    ),
)


def logical_id(stack: str) -> str:
    """Logical ID of a child's AWS::CloudFormation::Stack resource in the root template."""
    return f"{stack.capitalize()}Stack"


def children(params: RootParams) -> list[Child]:
    """The nested stacks in creation order, with what each takes from the ones before it.

    A new stack adds its params to RootParams, a Child here whose ``wiring`` maps each of its
    parameters that another stack provides to ``Wire(<stack>, <OUTPUT_CONSTANT>)``, and any
    RootOutput. Its other parameters become root parameters with its own labels and groups.
    A stack may only take outputs of stacks listed before it, so the wiring cannot loop.
    """
    return [
        Child("network", network.build(params.network)),
        Child(
            "security",
            security.build(params.security),
            wiring={"VpcId": Wire("network", network.VPC_ID)},
        ),
        Child(
            "database",
            database.build(params.database),
            wiring={
                "IsolatedSubnetIds": Wire("network", network.ISOLATED_SUBNET_IDS),
                "AzCount": Wire("network", network.AZ_COUNT),
                database.DB_SECURITY_GROUP_ID: Wire("security", security.DB_SECURITY_GROUP_ID),
            },
        ),
        Child(
            "edge",
            edge.build(params.edge),
            wiring={
                "VpcId": Wire("network", network.VPC_ID),
                "PublicSubnetIds": Wire("network", network.PUBLIC_SUBNET_IDS),
                "LoadBalancerSecurityGroupId": Wire(
                    "security", security.LOAD_BALANCER_SECURITY_GROUP_ID
                ),
            },
        ),
        Child(
            "app",
            app.build(params.app),
            wiring={
                "PrivateSubnetIds": Wire("network", network.PRIVATE_SUBNET_IDS),
                "AppSecurityGroupId": Wire("security", security.APP_SECURITY_GROUP_ID),
                "TargetGroupArn": Wire("edge", edge.TARGET_GROUP_ARN),
                "LoadBalancerFullName": Wire("edge", edge.LOAD_BALANCER_FULL_NAME),
                "TargetGroupFullName": Wire("edge", edge.TARGET_GROUP_FULL_NAME),
                "SiteHost": Wire("edge", edge.SITE_HOST),
                "SiteUrl": Wire("edge", edge.SITE_URL),
                "HttpsEnabled": Wire("edge", edge.HTTPS_ENABLED),
                "DbWriterHost": Wire("database", database.WRITER_ENDPOINT),
                "DbReaderHost": Wire("database", database.READER_ENDPOINT),
                "DbPort": Wire("database", database.DB_PORT_OUTPUT),
                "DbName": Wire("database", database.DB_NAME),
                "DbSecretArn": Wire("database", database.DB_SECRET_ARN),
                "DbMasterSecretArn": Wire("database", database.DB_MASTER_SECRET_ARN),
                "DbKmsKeyArn": Wire("database", database.DB_KMS_KEY_ARN),
            },
        ),
        Child(
            "monitoring",
            monitoring.build(params.monitoring),
            wiring={
                "LoadBalancerFullName": Wire("edge", edge.LOAD_BALANCER_FULL_NAME),
                "TargetGroupFullName": Wire("edge", edge.TARGET_GROUP_FULL_NAME),
                "DbClusterId": Wire("database", database.DB_CLUSTER_ID),
                "DbInstanceIds": Wire("database", database.DB_INSTANCE_IDS),
                "AutoScalingGroupName": Wire("app", app.AUTO_SCALING_GROUP_NAME),
            },
        ),
    ]


def build(params: RootParams) -> Template:
    """The root stack's template."""
    return nest(children(params), OUTPUTS)


def build_all(params: RootParams) -> dict[str, Template]:
    """Every template by stack name: the children and the root that nests them."""
    kids = children(params)
    return {**{child.name: child.template for child in kids}, "root": nest(kids, OUTPUTS)}


def nest(kids: Sequence[Child], outputs: Sequence[RootOutput] = ()) -> Template:
    """A root template nesting ``kids``; ValueError if the wiring does not fit the templates."""
    template = new_template(
        "employees platform: root stack. Upload the child templates ("
        + ", ".join(f"{child.name}.yaml" for child in kids)
        + ") to s3://<TemplatesBucket>/<TemplatesPrefix> in this Region, then create this "
        "stack from root.yaml."
    )
    _check_wiring(kids, outputs)
    groups = _expose_parameters(template, kids)
    _hoist_rules(template, kids)
    _add_template_location(template)
    set_parameter_groups(
        template, [*groups, ("Template location", [TEMPLATES_BUCKET, TEMPLATES_PREFIX])]
    )
    for child in kids:
        values = {
            name: child.wiring[name].value() if name in child.wiring else Ref(name)
            for name in sorted(child.template.parameters)
        }
        template.add_resource(
            Stack(
                logical_id(child.name),
                TemplateURL=Sub(
                    "https://${TemplatesBucket}.s3.${AWS::Region}.${AWS::URLSuffix}/"
                    f"${{TemplatesPrefix}}{child.name}.yaml"
                ),
                Parameters=values,
                # Deleting the root deletes its children; what a child must keep it protects
                # with its own policies (database snapshots, retained keys).
                DeletionPolicy="Delete",
                UpdateReplacePolicy="Delete",
            )
        )
    for output in outputs:
        template.add_output(
            Output(output.name, Description=output.description, Value=output.source.value())
        )
    return template


def _check_wiring(kids: Sequence[Child], outputs: Sequence[RootOutput]) -> None:
    seen: dict[str, Child] = {}
    for child in kids:
        if child.name in seen or child.name == "root":
            raise ValueError(f"child stack name {child.name!r} is used twice or reserved")
        for parameter, wire in sorted(child.wiring.items()):
            where = f"{child.name} parameter {parameter}"
            if parameter not in child.template.parameters:
                raise ValueError(f"{where} is wired but the {child.name} template lacks it")
            _check_wire(wire, seen, where)
        seen[child.name] = child
    for output in outputs:
        _check_wire(output.source, seen, f"root output {output.name}")


def _check_wire(wire: Wire, earlier: Mapping[str, Child], where: str) -> None:
    if wire.stack not in earlier:
        raise ValueError(f"{where} takes an output of {wire.stack!r}, not a stack nested before it")
    if wire.output not in earlier[wire.stack].template.outputs:
        raise ValueError(f"{where} takes output {wire.output!r}, which {wire.stack} lacks")


def _expose_parameters(template: Template, kids: Sequence[Child]) -> list[tuple[str, list[str]]]:
    """Declare each child's unwired parameters at the root; return the console groups."""
    groups: dict[str, list[str]] = {}
    for child in kids:
        for label, name in _console_order(child):
            declared = child.template.parameters[name].to_dict()
            if name in (TEMPLATES_BUCKET, TEMPLATES_PREFIX):
                raise ValueError(f"{child.name} declares {name}, a root-only parameter")
            if name in template.parameters:
                if template.parameters[name].to_dict() != declared:
                    raise ValueError(
                        f"{child.name} declares parameter {name} unlike an earlier stack"
                    )
                continue
            properties = dict(declared)
            try:
                description = properties.pop("Description")
                constraint = properties.pop("ConstraintDescription")
            except KeyError as missing:
                raise ValueError(f"{child.name} parameter {name} lacks {missing}") from None
            add_parameter(
                template,
                name,
                label=parameter_label(child.template, name),
                description=description,
                constraint_description=constraint,
                **properties,
            )
            groups.setdefault(label, []).append(name)
    return list(groups.items())


def _console_order(child: Child) -> list[tuple[str, str]]:
    """(group label, name) of each unwired parameter in the child's console order; parameters
    the child groups nowhere come last, under the child's name."""
    exposed = [name for name in child.template.parameters if name not in child.wiring]
    order = [
        (label, name)
        for label, names in parameter_groups(child.template)
        for name in names
        if name in exposed
    ]
    listed = {name for _, name in order}
    ungrouped = [(child.name.capitalize(), name) for name in sorted(exposed) if name not in listed]
    return order + ungrouped


def _refs(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        if set(node) == {"Ref"} and isinstance(node["Ref"], str):
            yield node["Ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _hoist_rules(template: Template, kids: Sequence[Child]) -> None:
    """Copy the children's Rules to the root, where CloudFormation checks them before creating
    anything (a nested stack checks its Rules only when its turn comes, mid-deployment, after
    the stacks before it exist). Every child's Rule is copied: root.yaml is always read from S3
    (TemplateURL), where its quota is 1 MB, not the 51,200 bytes of an inline TemplateBody."""
    for child in kids:
        for name, declared in sorted(child.template.rules.items()):
            rule = encode_to_dict(declared)
            for ref in _refs(rule):
                if ref not in template.parameters and not ref.startswith("AWS::"):
                    raise ValueError(
                        f"{child.name} rule {name} refers to {ref}, which is not a root parameter"
                    )
            if name in template.rules:
                if template.rules[name] != rule:
                    raise ValueError(f"{child.name} declares rule {name} unlike an earlier stack")
                continue
            template.add_rule(name, rule)


def _add_template_location(template: Template) -> None:
    add_parameter(
        template,
        TEMPLATES_BUCKET,
        label="Templates bucket",
        description=(
            "Name of the S3 bucket, in this stack's Region, that holds the child templates. "
            "Names with dots are not accepted: the HTTPS URL built from them would not match "
            "the S3 certificate."
        ),
        constraint_description=(
            "must be an S3 bucket name without dots: 3 to 63 lowercase letters, digits and "
            "hyphens, starting and ending with a letter or digit"
        ),
        Type="String",
        AllowedPattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$",
    )
    add_parameter(
        template,
        TEMPLATES_PREFIX,
        label="Templates key prefix",
        description=(
            "S3 key prefix of the child templates, ending with a slash (for example "
            "employees-platform/templates/); each child is read from <prefix><stack>.yaml."
        ),
        constraint_description=(
            "must be one or more key segments, each followed by '/', of letters, digits and "
            "the characters ! - _ . * ' ( )"
        ),
        Type="String",
        Default="employees-platform/templates/",
        AllowedPattern=r"^([0-9A-Za-z!_.*'()-]+/)+$",
        MaxLength=512,
    )
