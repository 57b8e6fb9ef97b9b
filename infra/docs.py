"""The console user's documents, drawn from the compiled templates themselves.

``docs/parameters.md`` lists every parameter of every stack (label, description, default, allowed
values); ``docs/architecture.{dot,svg,png}`` draws the nested stacks, the tiers and their AZs, the
security-group paths and the data stores. Generated with the templates, checked with them, so the
pictures cannot drift from what CloudFormation builds.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from .build import SUFFIX, write_files

INTERFACE = "AWS::CloudFormation::Interface"
NESTED_STACK = "AWS::CloudFormation::Stack"

# What the picture shows, by resource type: a short name for each kind of box. Plumbing (routes,
# associations, policies, roles, alarms) stays out; the parameter reference covers the knobs.
SHOWN = {
    "AWS::EC2::VPC": "VPC",
    "AWS::EC2::Subnet": "subnets",
    "AWS::EC2::InternetGateway": "internet gateway",
    "AWS::EC2::NatGateway": "NAT gateways",
    "AWS::EC2::VPCEndpoint": "VPC endpoint",
    "AWS::EC2::SecurityGroup": "security group",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "load balancer",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "target group",
    "AWS::WAFv2::WebACL": "WAF web ACL",
    "AWS::Route53::RecordSet": "DNS record",
    "AWS::AutoScaling::AutoScalingGroup": "Auto Scaling group",
    "AWS::EC2::LaunchTemplate": "launch template",
    "AWS::RDS::DBCluster": "Aurora cluster",
    "AWS::RDS::DBSubnetGroup": "DB subnet group",
    "AWS::RDS::DBInstance": "DB instances",
    "AWS::SecretsManager::Secret": "secret",
    "AWS::KMS::Key": "KMS key",
    "AWS::S3::Bucket": "S3 bucket",
    "AWS::SNS::Topic": "SNS topic",
    "AWS::RDS::EventSubscription": "RDS event subscriptions",
    "AWS::Logs::LogGroup": "log group",
    "AWS::CloudWatch::Dashboard": "dashboard",
}
DATA_STORES = {
    "AWS::RDS::DBCluster",
    "AWS::RDS::DBInstance",
    "AWS::S3::Bucket",
    "AWS::SecretsManager::Secret",
}


class DocsError(RuntimeError):
    """The documents could not be made (graphviz missing, or a template it cannot read)."""


@dataclass(frozen=True, order=True)
class SecurityPath:
    """One allowed path into a security group: from a group or a CIDR parameter, on a port."""

    stack: str
    source: str  # a security group's logical id, or "cidr:<parameter or value>"
    target: str
    ports: str


def nested_stacks(root: Mapping) -> dict[str, str]:
    """Logical id of each nested stack in the root -> the child template's name."""
    children = {}
    for logical_id, resource in sorted(root.get("Resources", {}).items()):
        if resource.get("Type") == NESTED_STACK:
            url = _text(resource.get("Properties", {}).get("TemplateURL"))
            match = re.search(r"([A-Za-z0-9_-]+)\.yaml", url)
            children[logical_id] = match.group(1) if match else logical_id
    return children


def security_group_paths(stack: str, template: Mapping) -> list[SecurityPath]:
    """Every ingress rule of ``template``, inline or standalone, as a path."""
    paths = []
    for logical_id, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        if resource.get("Type") == "AWS::EC2::SecurityGroup":
            for rule in properties.get("SecurityGroupIngress", []):
                paths.append(_path(stack, logical_id, rule))
        elif resource.get("Type") == "AWS::EC2::SecurityGroupIngress":
            paths.append(_path(stack, _referenced(properties.get("GroupId")), properties))
    return sorted(paths)


def _path(stack: str, target: str, rule: Mapping) -> SecurityPath:
    if "SourceSecurityGroupId" in rule:
        source = _referenced(rule["SourceSecurityGroupId"])
    else:
        source = "cidr:" + _referenced(rule.get("CidrIp") or rule.get("CidrIpv6"))
    low, high = rule.get("FromPort"), rule.get("ToPort")
    ports = f"{rule.get('IpProtocol', 'tcp')} {low}" + ("" if low == high else f"-{high}")
    return SecurityPath(stack, source, target, ports)


def _referenced(value) -> str:
    """The logical id or parameter a Ref/GetAtt points at, or the literal value."""
    if isinstance(value, Mapping):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return str(value)


def _text(value) -> str:
    """Flatten an intrinsic (Fn::Sub, Fn::Join) to its literal parts, for pattern matching."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return " ".join(_text(item) for item in value.values())
    if isinstance(value, list):
        return " ".join(_text(item) for item in value)
    return ""


# -- the parameter reference -----------------------------------------------------------------


def parameter_reference(templates: Mapping[str, Mapping]) -> str:
    """Markdown: per stack, a table of its parameters as the console shows them."""
    lines = [
        "# Parameter reference",
        "",
        "Generated by `python -m infra docs` from `templates_out/`; do not edit.",
        "The root stack takes the values below and passes each child what it needs.",
    ]
    order = ["root", *sorted(name for name in templates if name != "root")]
    for name in order:
        template = templates[name]
        parameters = template.get("Parameters", {})
        labels = template.get("Metadata", {}).get(INTERFACE, {}).get("ParameterLabels", {})
        lines += ["", f"## `{name}.yaml`", ""]
        if description := template.get("Description"):
            lines += [_cell(description), ""]
        if not parameters:
            lines.append("No parameters.")
            continue
        lines += [
            "| parameter | label | description | default | allowed |",
            "|---|---|---|---|---|",
        ]
        for parameter in _grouped(template, parameters):
            spec = parameters[parameter]
            label = labels.get(parameter, {}).get("default", "")
            lines.append(
                f"| `{parameter}` | {_cell(label)} | {_cell(spec.get('Description', ''))} "
                f"| {_default(spec)} | {_cell(_allowed(spec))} |"
            )
    return "\n".join(lines) + "\n"


def _grouped(template: Mapping, parameters: Mapping) -> list[str]:
    """Parameters in the console's order: by Interface group, then the rest by name."""
    groups = template.get("Metadata", {}).get(INTERFACE, {}).get("ParameterGroups", [])
    ordered = [name for group in groups for name in group.get("Parameters", [])]
    return [*ordered, *sorted(set(parameters) - set(ordered))]


def _default(spec: Mapping) -> str:
    if "Default" not in spec:
        return "(required)"
    value = spec["Default"]
    return f"`{value}`" if value != "" else "(empty)"


def _allowed(spec: Mapping) -> str:
    if "AllowedValues" in spec:
        return ", ".join(f"`{value}`" for value in spec["AllowedValues"])
    parts = []
    if "MinValue" in spec or "MaxValue" in spec:
        parts.append(f"{spec.get('MinValue', '')}..{spec.get('MaxValue', '')}")
    if "AllowedPattern" in spec:
        parts.append(f"pattern `{spec['AllowedPattern']}`")
    return "; ".join(parts) or spec.get("Type", "")


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


# -- the architecture picture ----------------------------------------------------------------


def architecture_dot(templates: Mapping[str, Mapping]) -> str:
    """Graphviz source: a cluster per nested stack, its resources by kind, the SG paths."""
    children = nested_stacks(templates["root"])
    lines = [
        "digraph architecture {",
        '  graph [rankdir=LR, fontname="Helvetica", fontsize=12, compound=true, '
        'label="Generated from templates_out/ by python -m infra docs. Solid: allowed '
        'network paths; dashed: uses (subnets, security groups, keys, targets).", labelloc=b, '
        "newrank=true, nodesep=0.25, ranksep=0.6];",
        '  node [shape=box, style="rounded,filled", fillcolor="#f6f6f6", fontname="Helvetica", '
        "fontsize=10];",
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    cidrs: set[str] = set()
    uses = sorted(_uses(templates, children))
    for logical_id, child in children.items():
        template = templates.get(child, {})
        lines.append(f'  subgraph "cluster_{logical_id}" {{')
        lines.append(f'    label="{logical_id} ({child}.yaml)";')
        for node, label, store in _boxes(template):
            fill = ', fillcolor="#dbe8f7"' if store else ""
            lines.append(f'    "{child}.{node}" [label="{label}"{fill}];')
        lines.append("  }")
        for path in security_group_paths(child, template):
            source = f"{child}.{path.source}"
            if path.source.startswith("cidr:"):
                cidrs.add(path.source)
                source = path.source
            lines.append(f'  "{source}" -> "{child}.{path.target}" [label="{path.ports}"];')
    for source, target in uses:
        lines.append(f'  "{source}" -> "{target}" [style=dashed, color="#888888", arrowsize=0.6];')
    for cidr in sorted(cidrs):
        name = cidr.removeprefix("cidr:")
        lines.append(f'  "{cidr}" [label="clients\\n{name}", shape=ellipse, fillcolor=white];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _box(logical_id: str) -> str:
    """The box a resource is drawn in: AZ copies (Subnet1..3, ReaderInstance1..15) share one."""
    return re.sub(r"\d+$", "", logical_id)


def _uses(templates: Mapping[str, Mapping], children: Mapping[str, str]) -> set[tuple[str, str]]:
    """(box, box) pairs where a shown resource refers to another, across stacks via the root.

    A reference to a parameter is followed through the value the root passes (a GetAtt of
    another stack's output) to the resources that output is made of. References to the VPC are
    left out: everything is in it.
    """
    root_resources = templates["root"].get("Resources", {})
    edges = set()
    for logical_id, child in children.items():
        template = templates.get(child, {})
        passed = root_resources[logical_id].get("Properties", {}).get("Parameters", {})
        for name, resource in template.get("Resources", {}).items():
            if resource.get("Type") not in SHOWN:
                continue
            for reference in _references(resource.get("Properties", {})):
                for stack, target in _resolve(templates, children, child, reference, passed):
                    kind = templates[stack]["Resources"][target]["Type"]
                    source_box, target_box = f"{child}.{_box(name)}", f"{stack}.{_box(target)}"
                    if kind in SHOWN and kind != "AWS::EC2::VPC" and source_box != target_box:
                        edges.add((source_box, target_box))
    return edges


def _resolve(templates, children, child, name, passed) -> set[tuple[str, str]]:
    """The (stack, resource) pairs that ``name`` in ``child`` stands for."""
    template = templates.get(child, {})
    if name in template.get("Resources", {}):
        return {(child, name)}
    found = set()
    for reference in _references(passed.get(name, {}), outputs=True):
        stack_id, _, output = reference.partition(".Outputs.")
        producer = children.get(stack_id)
        if producer is None or not output:
            continue
        value = templates[producer].get("Outputs", {}).get(output, {}).get("Value", {})
        for inner in _references(value):
            found |= _resolve(templates, children, producer, inner, {})
    return found


def _references(value, *, outputs: bool = False) -> set[str]:
    """Logical ids named by Ref and Fn::GetAtt anywhere in ``value`` (Stack.Outputs.X with
    ``outputs``); pseudo parameters and Fn::Sub strings are not followed."""
    found = set()
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str) and not item.startswith("AWS::"):
                found.add(item)
            elif key == "Fn::GetAtt" and isinstance(item, list):
                found.add(f"{item[0]}.{item[1]}" if outputs else str(item[0]))
            else:
                found |= _references(item, outputs=outputs)
    elif isinstance(value, list):
        for item in value:
            found |= _references(item, outputs=outputs)
    return found


def _boxes(template: Mapping) -> Iterable[tuple[str, str, bool]]:
    """(node id, label, is a data store): one box per resource kind and name, AZ copies merged."""
    groups: dict[str, list[tuple[str, Mapping]]] = defaultdict(list)
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") in SHOWN:
            groups[_box(logical_id)].append((logical_id, resource))
    for base in sorted(groups):
        members = groups[base]
        kind = members[0][1]["Type"]
        label = f"{base}\\n{SHOWN[kind]}"
        if len(members) > 1:
            label += f" x{len(members)}"
        zones = _zones(members)
        if zones:
            label += f", {zones} AZ{'s' if zones > 1 else ''}"
        yield base, label, kind in DATA_STORES
        # The security-group paths name the exact logical ids; merged boxes never hold groups.
        if kind == "AWS::EC2::SecurityGroup" and len(members) > 1:
            raise DocsError(f"security groups {', '.join(m for m, _ in members)} share a box")


def _zones(members: list[tuple[str, Mapping]]) -> int:
    """How many distinct AZs (Fn::Select of Fn::GetAZs, under conditions too) the members use."""
    indexes: set[str] = set()
    for _, resource in members:
        _select_indexes(resource.get("Properties", {}).get("AvailabilityZone"), indexes)
    return len(indexes)


def _select_indexes(value, found: set[str]) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "Fn::Select" and isinstance(item, list) and len(item) == 2:
                found.add(str(item[0]))
            else:
                _select_indexes(item, found)
    elif isinstance(value, list):
        for item in value:
            _select_indexes(item, found)


def render_picture(dot: str, fmt: str) -> bytes:
    """Run graphviz's ``dot`` on the source; ``fmt`` is svg or png."""
    binary = shutil.which("dot")
    if binary is None:
        raise DocsError("graphviz's `dot` is not installed: run `make setup` (apt: graphviz)")
    result = subprocess.run(  # noqa: S603 - a fixed binary and our own generated input
        [binary, f"-T{fmt}"], input=dot.encode(), capture_output=True, check=False
    )
    if result.returncode != 0:
        raise DocsError(f"dot -T{fmt} failed: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


# The documents' sources, compared byte for byte by --check, and the pictures drawn from the .dot:
# their bytes depend on the graphviz build and its fonts, so they are redrawn when the .dot
# changes (or one is missing), never compared, and a machine with another graphviz is not stale.
SOURCES = ("parameters.md", "architecture.dot")
PICTURES = {"architecture.svg": "svg", "architecture.png": "png"}


def sources(templates: Mapping[str, Mapping]) -> dict[str, bytes]:
    """File name under docs/ -> bytes, for the reference and the picture's source."""
    return {
        "parameters.md": parameter_reference(templates).encode(),
        "architecture.dot": architecture_dot(templates).encode(),
    }


def pictures(dot: bytes) -> dict[str, bytes]:
    """The architecture picture drawn from its source, as SVG and PNG."""
    return {name: render_picture(dot.decode(), fmt) for name, fmt in PICTURES.items()}


def load(rendered: Mapping[str, str]) -> dict[str, dict]:
    """Template name -> its dict, from rendered YAML (file name -> text)."""
    return {
        name.removesuffix(SUFFIX): yaml.safe_load(text)
        for name, text in sorted(rendered.items())
        if name.endswith(SUFFIX)
    }


def read(templates_dir: Path) -> dict[str, dict]:
    """The compiled templates in ``templates_dir`` (what the console user uploads)."""
    files = sorted(templates_dir.glob(f"*{SUFFIX}"))
    return load({path.name: path.read_text(encoding="utf-8") for path in files})


def stale(documents: Mapping[str, bytes], docs_dir: Path) -> list[str]:
    """Sources that differ in ``docs_dir`` or are missing, and pictures that are missing."""
    differing = [
        name
        for name in SOURCES
        if not (docs_dir / name).is_file() or (docs_dir / name).read_bytes() != documents[name]
    ]
    return differing + [name for name in PICTURES if not (docs_dir / name).is_file()]


def write(documents: Mapping[str, bytes], docs_dir: Path) -> list[str]:
    """Write what changed (all or none), the pictures redrawn when their source changed."""
    changed = stale(documents, docs_dir)
    files = {name: documents[name] for name in changed if name in SOURCES}
    if "architecture.dot" in changed or any(name in PICTURES for name in changed):
        drawn = pictures(documents["architecture.dot"])
        files.update(drawn)
        changed = sorted(set(changed) | set(drawn))
    docs_dir.mkdir(exist_ok=True)
    write_files({docs_dir / name: content for name, content in files.items()})
    return changed
