"""Helpers every stack module shares: console-labelled parameters and the Interface metadata."""

from __future__ import annotations

from collections.abc import Sequence

from troposphere import Parameter, Template

INTERFACE = "AWS::CloudFormation::Interface"


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


def parameter_groups(template: Template) -> list[tuple[str, list[str]]]:
    """The (label, parameter names) groups of a template's Interface metadata."""
    groups = template.metadata.get(INTERFACE, {}).get("ParameterGroups", [])
    return [(group["Label"]["default"], list(group["Parameters"])) for group in groups]


def parameter_label(template: Template, name: str) -> str:
    """The console label of one parameter (its name when it has none)."""
    labels = template.metadata.get(INTERFACE, {}).get("ParameterLabels", {})
    return labels.get(name, {}).get("default", name)
