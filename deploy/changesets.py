"""A change set with its nested change sets, read into a tree, and its preview.

With ``IncludeNestedStacks`` CloudFormation makes one change set per nested stack; the root's
change for an ``AWS::CloudFormation::Stack`` resource carries the nested change set's ID. The
preview flags what an operator must not miss: replacing or removing a resource that holds data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from .events import STACK_TYPE
from .retry import Retrying
from .teardown import resources

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
    replacement: str = ""  # as CloudFormation says: True, False, Conditional
    nested_change_set_id: str | None = None
    physical_id: str = ""
    policy_action: str = ""  # Delete, Retain, Snapshot, ReplaceAndDelete, ... (when AWS says)
    details: tuple[dict[str, Any], ...] = ()
    judged: str = ""  # the replacement after reading Details (see _judge); "" until judged
    holds: tuple[str, ...] = ()  # a removed nested stack: the stateful resources it deletes

    @property
    def replaced(self) -> str:
        return self.judged or self.replacement

    @property
    def dangerous(self) -> bool:
        """Data at risk: a stateful resource replaced (or possibly replaced) or removed, or a
        removed nested stack that holds one."""
        if self.holds:
            return True
        if self.resource_type not in STATEFUL_TYPES:
            return False
        return self.action == "Remove" or self.replaced in ("True", "Conditional")


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
    parent: ChangeSetTree | None = field(default=None, repr=False)
    logical_id: str = ""  # the nested stack's logical ID in its parent

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
                    physical_id=resource.get("PhysicalResourceId", "") or "",
                    policy_action=resource.get("PolicyAction", "") or "",
                    details=tuple(resource.get("Details") or ()),
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
            child = describe(
                cloudformation, change.nested_change_set_id, f"{path}/{change.logical_id}", retry
            )
            child.parent, child.logical_id = tree, change.logical_id
            tree.nested[change.logical_id] = child
    tree.changes = [_removed_stack(cloudformation, c, path, retry) for c in tree.changes]
    return tree


def judge(tree: ChangeSetTree) -> ChangeSetTree:
    """Settle each Conditional replacement from its Details, in the whole tree (call on the root,
    once every nested change set is read)."""
    for stack in tree.walk():
        stack.changes = [
            replace(c, judged=_judge(c, stack)) if c.replacement == "Conditional" else c
            for c in stack.changes
        ]
    return tree


def _removed_stack(cloudformation: Any, change: Change, path: str, retry: Retrying) -> Change:
    """A removed nested stack has no nested change set: what it deletes is read from the stack."""
    if change.action != "Remove" or change.resource_type != STACK_TYPE or not change.physical_id:
        return change
    found = resources(cloudformation, change.physical_id, f"{path}/{change.logical_id}", retry)
    holds = tuple(
        f"{r.stack_path}/{r.logical_id} ({r.type})" for r in found if r.type in STATEFUL_TYPES
    )
    return replace(change, holds=holds)


def _judge(change: Change, stack: ChangeSetTree) -> str:
    """Conditional means "depends on values known only while executing". It is no replacement
    when every detail that would recreate the resource is such a value and its source does not
    change: a sibling (or, through a parameter, the parent's sibling) absent from the change set
    or whose nested change set is empty. Anything else stays Conditional."""
    recreating = [
        d for d in change.details
        if (d.get("Target") or {}).get("RequiresRecreation") in ("Always", "Conditionally")
    ]  # fmt: skip
    if not change.details:
        return "Conditional"
    if not recreating:
        return "False"
    for detail in recreating:
        if detail.get("Evaluation") != "Dynamic" or not _source_unchanged(detail, stack):
            return "Conditional"
    return "False"


def _source_unchanged(detail: dict[str, Any], stack: ChangeSetTree) -> bool:
    entity = detail.get("CausingEntity") or ""
    source = detail.get("ChangeSource")
    if source in ("ResourceAttribute", "ResourceReference") and entity:
        return _unchanged(entity.split(".")[0], stack)
    if source == "ParameterReference" and stack.parent is not None:
        # A nested stack's parameter: its value comes from the parent's change of this stack.
        mine = next((c for c in stack.parent.changes if c.logical_id == stack.logical_id), None)
        causes = [d for d in (mine.details if mine else ()) if d.get("Evaluation") == "Dynamic"]
        static = [d for d in (mine.details if mine else ()) if d.get("Evaluation") != "Dynamic"]
        return (
            bool(causes) and not static and all(_source_unchanged(d, stack.parent) for d in causes)
        )
    return False


def _unchanged(logical_id: str, stack: ChangeSetTree) -> bool:
    """The resource has no change in this change set, or is a nested stack with nothing to do."""
    change = next((c for c in stack.changes if c.logical_id == logical_id), None)
    if change is None:
        return True
    child = stack.nested.get(logical_id)
    return child is not None and not any(tree.changes for tree in child.walk())


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
            if change.replaced == "True":
                note = "  REPLACEMENT"
            elif change.replaced == "Conditional":
                note = "  may be replaced"
            elif change.replacement == "Conditional":
                note = "  (Conditional: only from values that do not change)"
            if change.policy_action:
                note += f"  policy: {change.policy_action}"
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
            if change.replaced == "Conditional":
                what = "possibly replaced"
            kept = _KEPT.get(change.policy_action, "")
            lines.append(f"  {path}/{change.logical_id} ({change.resource_type}) is {what}{kept}")
            lines.extend(f"    with {held}" for held in change.holds)
        lines.append("Its data is lost unless it is retained or snapshotted. Read the diff first.")
    return lines


# PolicyAction: what CloudFormation does with the old resource (DeletionPolicy or
# UpdateReplacePolicy), when the change set says.
_KEPT = {
    "Retain": " (it is retained)",
    "ReplaceAndRetain": " (the old one is retained)",
    "Snapshot": " (a snapshot is taken first)",
    "ReplaceAndSnapshot": " (a snapshot of the old one is taken first)",
}


def _summary(changes: list[Change]) -> str:
    if not changes:
        return "no resource changes"
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.action] = counts.get(change.action, 0) + 1
    return ", ".join(f"{count} to {action.lower()}" for action, count in sorted(counts.items()))
