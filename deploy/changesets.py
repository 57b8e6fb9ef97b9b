"""A change set with its nested change sets, read into a tree, and its preview.

With ``IncludeNestedStacks`` CloudFormation makes one change set per nested stack; the root's
change for an ``AWS::CloudFormation::Stack`` resource carries the nested change set's ID. The
preview flags what an operator must not miss: replacing or removing a resource that holds data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .retry import Retrying

# Replacing or removing one of these loses data or breaks what depends on it.
STATEFUL_TYPES = frozenset(
    {
        "AWS::RDS::DBCluster",
        "AWS::RDS::DBInstance",
        "AWS::SecretsManager::Secret",
        "AWS::KMS::Key",
        "AWS::S3::Bucket",
        "AWS::DynamoDB::Table",
        "AWS::EFS::FileSystem",
        "AWS::Logs::LogGroup",
    }
)
# "Nested change set arn:...:changeSet/x/uuid was not successfully created: Currently in FAILED."
_NESTED_ARN = re.compile(r"arn:aws[\w-]*:cloudformation:[^:\s]+:\d+:changeSet/[^\s]+/[\w-]+")
_SYMBOLS = {"Add": "+", "Modify": "~", "Remove": "-", "Import": "<", "Dynamic": "?"}


@dataclass(frozen=True)
class Change:
    action: str
    logical_id: str
    resource_type: str
    replacement: str = ""
    nested_change_set_id: str | None = None

    @property
    def dangerous(self) -> bool:
        """Data at risk: a stateful resource replaced (or possibly replaced) or removed."""
        if self.resource_type not in STATEFUL_TYPES:
            return False
        return self.action == "Remove" or self.replacement in ("True", "Conditional")


@dataclass
class ChangeSetTree:
    """One stack's change set and its nested ones, keyed by the parent's logical ID."""

    id: str
    stack_id: str
    stack_path: str
    status: str
    reason: str
    changes: list[Change] = field(default_factory=list)
    nested: dict[str, ChangeSetTree] = field(default_factory=dict)

    def walk(self):
        yield self
        for child in self.nested.values():
            yield from child.walk()

    @property
    def resource_changes(self) -> int:
        return sum(len(tree.changes) for tree in self.walk())

    @property
    def dangerous(self) -> list[tuple[str, Change]]:
        return [(tree.stack_path, c) for tree in self.walk() for c in tree.changes if c.dangerous]


def describe(cloudformation: Any, change_set_id: str, path: str, retry: Retrying) -> ChangeSetTree:
    """Read a change set (all pages) and, recursively, its nested change sets."""
    changes: list[Change] = []
    token = None
    while True:
        page = retry(
            cloudformation.describe_change_set,
            ChangeSetName=change_set_id,
            **({"NextToken": token} if token else {}),
        )
        for raw in page.get("Changes", []):
            resource = raw.get("ResourceChange") or {}
            changes.append(
                Change(
                    action=resource.get("Action", "?"),
                    logical_id=resource.get("LogicalResourceId", "?"),
                    resource_type=resource.get("ResourceType", "?"),
                    replacement=resource.get("Replacement", "") or "",
                    nested_change_set_id=resource.get("ChangeSetId"),
                )
            )
        token = page.get("NextToken")
        if not token:
            break
    tree = ChangeSetTree(
        id=change_set_id,
        stack_id=page.get("StackId", ""),
        stack_path=path,
        status=page.get("Status", ""),
        reason=page.get("StatusReason", "") or "",
        changes=changes,
    )
    for change in changes:
        if change.nested_change_set_id:
            tree.nested[change.logical_id] = describe(
                cloudformation, change.nested_change_set_id, f"{path}/{change.logical_id}", retry
            )
    return tree


def failure_reason(cloudformation: Any, tree: ChangeSetTree, retry: Retrying) -> str:
    """Why a FAILED change set failed. The root of a nested set only says that a nested change
    set "was not successfully created"; the failed child's own StatusReason says why."""
    failed = [child for child in tree.walk() if child is not tree and child.status == "FAILED"]
    if not failed:
        # A root that failed on its children may list no changes: follow the ARNs it names.
        for arn in dict.fromkeys(_NESTED_ARN.findall(tree.reason)):
            page = retry(cloudformation.describe_change_set, ChangeSetName=arn)
            path = f"{tree.stack_path}/{page.get('StackName') or arn.split('/')[-2]}"
            failed.append(
                ChangeSetTree(
                    arn, page.get("StackId", ""), path, page.get("Status", ""),
                    page.get("StatusReason", "") or "",
                )
            )  # fmt: skip
    own = [child for child in failed if child.reason and not _NESTED_ARN.search(child.reason)]
    if not own:
        return tree.reason
    return (
        "\n".join(f"nested stack {child.stack_path}: {child.reason}" for child in own)
        + f"\n(root: {tree.reason})"
    )


def preview(tree: ChangeSetTree) -> list[str]:
    """Readable lines: per stack, one line per change, and a warning block for data at risk."""
    lines: list[str] = []
    for stack in tree.walk():
        lines.append(f"Stack {stack.stack_path}: {_summary(stack.changes)}")
        for change in stack.changes:
            note = ""
            if change.replacement == "True":
                note = "  REPLACEMENT"
            elif change.replacement == "Conditional":
                note = "  may be replaced"
            flag = "  !! DATA AT RISK" if change.dangerous else ""
            symbol = _SYMBOLS.get(change.action, "?")
            lines.append(
                f"  {symbol} {change.action:<7} {change.logical_id} ({change.resource_type})"
                f"{note}{flag}"
            )
    at_risk = tree.dangerous
    if at_risk:
        lines.append("")
        lines.append(f"WARNING: {len(at_risk)} change(s) replace or remove a stateful resource:")
        for path, change in at_risk:
            what = "removed" if change.action == "Remove" else "replaced"
            if change.replacement == "Conditional":
                what = "possibly replaced"
            lines.append(f"  {path}/{change.logical_id} ({change.resource_type}) is {what}")
        lines.append("Its data is lost unless it is retained or snapshotted. Read the diff first.")
    return lines


def _summary(changes: list[Change]) -> str:
    if not changes:
        return "no resource changes"
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.action] = counts.get(change.action, 0) + 1
    return ", ".join(f"{count} to {action.lower()}" for action, count in sorted(counts.items()))
