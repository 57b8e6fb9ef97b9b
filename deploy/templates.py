"""Reading CloudFormation templates: YAML (short-form tags tolerated) or JSON."""

from __future__ import annotations

from typing import Any

import yaml


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads ``!Ref x`` and friends as plain values (only names are needed)."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)  # type: ignore[arg-type]


_Loader.add_multi_constructor("!", _tag)


def load(text: str) -> dict[str, Any]:
    """Parse a template (JSON is YAML); ValueError if it is not a mapping."""
    try:
        document = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        raise ValueError(f"not a YAML or JSON template: {error}") from error
    if not isinstance(document, dict):
        raise ValueError("not a template: the document is not a mapping")
    return document


def parameters(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Declared parameters: name -> declaration."""
    return dict(template.get("Parameters") or {})


def retained(template: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(logical id, type, policy) of resources that deletion leaves behind or snapshots."""
    kept = []
    for name, resource in sorted((template.get("Resources") or {}).items()):
        policy = resource.get("DeletionPolicy", "Delete")
        if policy in ("Retain", "RetainExceptOnCreate", "Snapshot"):
            kept.append((name, resource.get("Type", "?"), policy))
    return kept
