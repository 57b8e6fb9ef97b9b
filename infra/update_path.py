"""The update-path check: what CloudFormation would do to a running stack when one parameter
changes, found offline by comparing the template resolved for the old and the new value.

A linter sees a template in one state; the failures this check looks for only exist between
two states:

- **slot clash**: a resource the update creates (new, or the new copy of a replaced one) holds
  a slot that a resource of the old state still holds. CloudFormation creates before it deletes,
  so the service refuses the second holder and the update rolls back (two listeners on one port
  of one load balancer, one record name in one zone, one log group name).
- **replacement**: a create-only property (the resource schemas that cfn-lint ships:
  ``createOnlyProperties``) of a stateful resource changes, so the resource is replaced.
- **data loss**: a resource that holds data disappears and its DeletionPolicy does not keep it.

Each parameter is tried with every allowed value (or: empty and two set values for an optional
one, the range ends for a number, another value for a free one), each against the defaults and
against every optional parameter set, skipping states the template's Rules refuse. Nothing here
names a resource of this project: parameters, Conditions and schemas say everything.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from . import resolve
from .lint import Finding

TOOL = "update-path"
# Types whose replacement or removal loses data or the identity clients know.
STATEFUL = frozenset(
    {
        "AWS::DynamoDB::Table",
        "AWS::EC2::Volume",
        "AWS::EFS::FileSystem",
        "AWS::KMS::Key",
        "AWS::Logs::LogGroup",
        "AWS::RDS::DBCluster",
        "AWS::RDS::DBInstance",
        "AWS::S3::Bucket",
        "AWS::SecretsManager::Secret",
    }
)
# DeletionPolicy values that keep the data when the resource leaves the stack; without one,
# CloudFormation snapshots a DB cluster and deletes everything else.
KEEPS_DATA = frozenset({"Retain", "RetainExceptOnCreate", "Snapshot"})
DEFAULT_DELETION_POLICY = {"AWS::RDS::DBCluster": "Snapshot"}
# Slots a service holds unique that the type's schema identifier does not name.
EXTRA_SLOTS = {
    # Elastic Load Balancing: one listener per port of a load balancer (DuplicateListener).
    "AWS::ElasticLoadBalancingV2::Listener": ("LoadBalancerArn", "Port"),
    # AWS WAF: a resource is associated with at most one web ACL.
    "AWS::WAFv2::WebACLAssociation": ("ResourceArn",),
}


@dataclass(frozen=True)
class Transition:
    """One parameter changed from one value to another, the others as in ``context``."""

    parameter: str
    before: str
    after: str
    context: tuple[tuple[str, str], ...] = ()

    def values(self, which: str) -> dict[str, str]:
        return {**dict(self.context), self.parameter: getattr(self, which)}

    def __str__(self) -> str:
        return f"{self.parameter} {self.before!r} -> {self.after!r}"


class Schemas:
    """createOnlyProperties and primary identifiers of resource types, from cfn-lint's data."""

    def __init__(self, region: str = "us-east-1") -> None:
        try:
            import cfnlint
        except ImportError as error:
            from .lint import LintUnavailable

            raise LintUnavailable(
                "cfn-lint is not installed (its resource schemas drive the update-path check): "
                "pip install -e '.[lint]' (or run `make setup`)"
            ) from error
        # cfn-lint 1.x: providers/<region>.json maps a type to a hash, resources/<hash>.json
        # is that type's schema.
        self._root = Path(cfnlint.__file__).parent / "data" / "schemas"
        providers = self._root / "providers" / f"{region}.json"
        self._index = json.loads(providers.read_text(encoding="utf-8"))

    @functools.cache  # noqa: B019 (one instance per lint run; schemas never change within it)
    def schema(self, kind: str) -> dict:
        digest = self._index.get(kind)
        if digest is None:
            return {}
        path = self._root / "resources" / f"{digest}.json"
        return json.loads(path.read_text(encoding="utf-8"))

    def create_only(self, kind: str) -> list[tuple[str, ...]]:
        """Property paths (as key tuples) whose change replaces a resource of this type."""
        return [_path(item) for item in self.schema(kind).get("createOnlyProperties", [])]

    def slot(self, kind: str) -> tuple[str, ...]:
        """Top-level properties that together name a resource uniquely, when the template can
        set them (not when the service generates the identifier)."""
        if kind in EXTRA_SLOTS:
            return EXTRA_SLOTS[kind]
        schema = self.schema(kind)
        read_only = {_path(item) for item in schema.get("readOnlyProperties", [])}
        identifier = [_path(item) for item in schema.get("primaryIdentifier", [])]
        if not identifier or any(path in read_only or len(path) != 1 for path in identifier):
            return ()
        return tuple(path[0] for path in identifier)


def check_file(path: Path, schemas: Schemas) -> list[Finding]:
    """Update-path findings of one template file."""
    import yaml

    template = yaml.safe_load(path.read_text(encoding="utf-8"))
    return check(template, str(path), schemas)


def check(template: dict, file: str, schemas: Schemas) -> list[Finding]:
    """Update-path findings of one template (a dict as CloudFormation reads it)."""
    states: dict[tuple, dict[str, dict] | None] = {}

    def state(values: dict[str, str]) -> dict[str, dict] | None:
        key = tuple(sorted(values.items()))
        if key not in states:
            try:
                refused = not resolve.accepted(template, values)
            except resolve.Unresolvable:
                refused = False
            states[key] = None if refused else resolve.state(template, values)
        return states[key]

    found: dict[tuple[str, str], Finding] = {}
    for transition in transitions(template):
        before, after = state(transition.values("before")), state(transition.values("after"))
        if before is None or after is None:
            continue
        for rule, message in compare(template, before, after, schemas):
            text = f"{transition}: {message}"
            found.setdefault((rule, text), Finding(TOOL, rule, file, None, text))
    return list(found.values())


def transitions(template: dict) -> Iterator[Transition]:
    """Every ordered pair of two values of one parameter, in every context."""
    parameters = template.get("Parameters", {})
    candidates = {name: candidate_values(name, p) for name, p in parameters.items()}
    optional = {name: values[1] for name, values in candidates.items() if values[:1] == [""]}
    contexts = [(), tuple(sorted(optional.items()))] if optional else [()]
    for name, values in candidates.items():
        for context in contexts:
            others = tuple((key, value) for key, value in context if key != name)
            for before, after in itertools.permutations(values, 2):
                # An optional parameter's two set values act alike against the empty one.
                if "" in (before, after) and values[2:3] in ([before], [after]):
                    continue
                yield Transition(name, before, after, others)


def candidate_values(name: str, parameter: Mapping) -> list[str]:
    """Values worth trying for one parameter (an optional one's empty value first)."""
    if parameter.get("AllowedValues"):
        return [str(value) for value in parameter["AllowedValues"]]
    default = parameter.get("Default")
    if default == "":
        return ["", f"<{name}-1>", f"<{name}-2>"]
    if parameter.get("Type") == "Number":
        ends = [parameter.get("MinValue"), default, parameter.get("MaxValue")]
        return list(dict.fromkeys(str(value) for value in ends if value is not None))
    first = f"<{name}-1>" if default is None else str(default)
    return [first, f"<{name}-2>"]


def compare(
    template: dict, before: dict[str, dict], after: dict[str, dict], schemas: Schemas
) -> Iterator[tuple[str, str]]:
    """(rule, why) of each problem of going from the resolved state ``before`` to ``after``."""
    replaced = {}
    for name in sorted(before.keys() & after.keys()):
        kind = after[name]["Type"]
        changed = [
            "/".join(path)
            for path in schemas.create_only(kind)
            if _at(before[name], path) != _at(after[name], path)
        ]
        if changed:
            replaced[name] = changed
    created = sorted((after.keys() - before.keys()) | replaced.keys())
    holders: dict[str, list[str]] = {}
    for name, resource in before.items():
        slot = _slot(resource, schemas)
        if slot:
            holders.setdefault(slot, []).append(name)
    for name in created:
        slot = _slot(after[name], schemas)
        for holder in holders.get(slot, []) if slot else []:
            if holder == name and name not in replaced:
                continue
            kind = after[name]["Type"]
            what = ", ".join(f"{key}={value}" for key, value in json.loads(slot)[1])
            yield (
                "slot-clash",
                f"{name} is created while {holder} still holds the same {kind} slot ({what}); "
                "CloudFormation creates before it deletes, so the service refuses it and the "
                "update rolls back",
            )
    for name, properties in sorted(replaced.items()):
        kind = after[name]["Type"]
        if kind in STATEFUL:
            yield (
                "replacement",
                f"{name} ({kind}) is replaced: create-only {', '.join(properties)} changes",
            )
    for name in sorted(before.keys() - after.keys()):
        kind = before[name]["Type"]
        policy = template["Resources"][name].get(
            "DeletionPolicy", DEFAULT_DELETION_POLICY.get(kind, "Delete")
        )
        if _holds_data(before[name]) and policy not in KEEPS_DATA:
            yield (
                "data-loss",
                f"{name} ({kind}) is deleted with its data (DeletionPolicy {policy}); "
                "give it Retain or Snapshot, or keep it in both states",
            )


def _holds_data(resource: dict) -> bool:
    # An Aurora instance keeps no data of its own: the cluster volume holds it.
    if resource["Type"] == "AWS::RDS::DBInstance":
        return "DBClusterIdentifier" not in resource.get("Properties", {})
    return resource["Type"] in STATEFUL


def _slot(resource: dict, schemas: Schemas) -> str | None:
    """A resource's unique slot as a comparable string, or None when the service names it."""
    keys = schemas.slot(resource["Type"])
    properties = resource.get("Properties", {})
    if not keys or not any(key in properties for key in keys):
        return None
    values = [(key, properties.get(key)) for key in keys]
    return json.dumps([resource["Type"], values], sort_keys=True)


def _path(pointer: str) -> tuple[str, ...]:
    """``/properties/A/B`` -> ("A", "B"); array steps (``*``) stay as they are."""
    return tuple(pointer.split("/")[2:])


def _at(resource: dict, path: tuple[str, ...]) -> object:
    node: object = resource.get("Properties", {})
    for key in path:
        if not isinstance(node, dict):
            return json.dumps(node, sort_keys=True)
        node = node.get(key)
    return json.dumps(node, sort_keys=True)
