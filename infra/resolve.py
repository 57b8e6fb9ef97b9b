"""A compiled template as CloudFormation sees it for given parameter values.

Evaluates Conditions and Rules, drops the resources whose Condition is false, resolves Fn::If
(and AWS::NoValue), and substitutes parameter values into Ref, Fn::Sub and Fn::FindInMap. What
needs a running stack (GetAtt, Ref of a resource, Fn::GetAZs) stays as written, so the same
resource compares equal in two states. The update-path check and the infra tests read templates
through it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

NO_VALUE = {"Ref": "AWS::NoValue"}
# A Region opened after the ELB log-delivery accounts list (any name works that is not in it).
PSEUDO_PARAMETERS = {"AWS::Region": "xx-test-1"}


class Unresolvable(ValueError):
    """An expression uses a function that cannot be evaluated without a running stack."""


def parameter_values(template: dict, given: Mapping[str, str]) -> dict[str, str]:
    """Every parameter's value: the given ones, else the default, else (a parameter another
    stack fills in) the first allowed value."""
    values = dict(PSEUDO_PARAMETERS)
    for name, parameter in template.get("Parameters", {}).items():
        if "Default" in parameter:
            values[name] = str(parameter["Default"])
        elif parameter.get("AllowedValues"):
            values[name] = str(parameter["AllowedValues"][0])
    values.update(given)
    return values


def evaluate(node: object, values: Mapping[str, str], template: dict) -> object:
    """Value of a Condition or Rule expression (Fn::Equals/And/Or/Not/Contains, Condition, Ref,
    Fn::FindInMap) for the parameter values; Unresolvable for anything else."""
    if isinstance(node, dict) and len(node) == 1:
        ((function, argument),) = node.items()
        if function == "Condition":
            return evaluate(template["Conditions"][argument], values, template)
        if function in _LOGIC:
            return _LOGIC[function]([evaluate(item, values, template) for item in argument])
        resolved = substitute(node, values, template)
        if isinstance(resolved, dict):
            raise Unresolvable(f"cannot evaluate {function} without a stack: {node}")
        return resolved
    if isinstance(node, list):
        return [evaluate(item, values, template) for item in node]
    return node


def conditions(template: dict, given: Mapping[str, str]) -> dict[str, bool]:
    """Truth of every Condition for the given parameter values (defaults fill the rest)."""
    values = parameter_values(template, given)
    return {
        name: bool(evaluate(body, values, template))
        for name, body in template.get("Conditions", {}).items()
    }


def rule_holds(template: dict, rule: dict, given: Mapping[str, str]) -> bool:
    """Whether one of the template's Rules accepts the parameter values."""
    values = parameter_values(template, given)
    if "RuleCondition" in rule and not evaluate(rule["RuleCondition"], values, template):
        return True
    return all(evaluate(item["Assert"], values, template) for item in rule.get("Assertions", []))


def accepted(template: dict, given: Mapping[str, str]) -> bool:
    """Whether every Rule of the template accepts the parameter values."""
    return all(rule_holds(template, rule, given) for rule in template.get("Rules", {}).values())


def present(template: dict, truth: Mapping[str, bool]) -> dict[str, dict]:
    """Resources that exist under the given condition values, with Fn::If resolved."""
    return {
        name: resolve(resource, truth)
        for name, resource in template.get("Resources", {}).items()
        if truth.get(resource.get("Condition"), True)
    }


def resolve(node: object, truth: Mapping[str, bool]) -> object:
    """A node with every Fn::If resolved and AWS::NoValue dropped."""
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            condition, when_true, when_false = node["Fn::If"]
            return resolve(when_true if truth[condition] else when_false, truth)
        resolved = {key: resolve(value, truth) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value != NO_VALUE}
    if isinstance(node, list):
        return [item for item in (resolve(value, truth) for value in node) if item != NO_VALUE]
    return node


def substitute(node: object, values: Mapping[str, str], template: dict) -> object:
    """A node with parameter values put in place of Ref, Fn::Sub variables and Fn::FindInMap
    keys; anything else (GetAtt, Ref of a resource) stays as written."""
    if isinstance(node, dict):
        if len(node) == 1:
            ((function, argument),) = node.items()
            if function == "Ref" and argument in values:
                return values[argument]
            if function == "Fn::Sub" and isinstance(argument, str):
                text = re.sub(
                    r"\$\{([\w:]+)\}",
                    lambda match: values.get(match.group(1), match.group(0)),
                    argument,
                )
                return text if "${" not in text else {"Fn::Sub": text}
            if function == "Fn::FindInMap":
                keys = [substitute(item, values, template) for item in argument]
                if all(isinstance(key, str) for key in keys):
                    table, first, second = keys
                    return template["Mappings"][table][first][second]
                return {"Fn::FindInMap": keys}
        return {key: substitute(value, values, template) for key, value in node.items()}
    if isinstance(node, list):
        return [substitute(value, values, template) for value in node]
    return node


def state(template: dict, given: Mapping[str, str]) -> dict[str, dict]:
    """The resources that exist for the parameter values, fully resolved where possible."""
    values = parameter_values(template, given)
    return {
        name: substitute(resource, values, template)
        for name, resource in present(template, conditions(template, given)).items()
    }


_LOGIC = {
    "Fn::Equals": lambda items: str(items[0]) == str(items[1]),
    "Fn::Contains": lambda items: str(items[1]) in [str(item) for item in items[0]],
    "Fn::And": all,
    "Fn::Or": any,
    "Fn::Not": lambda items: not items[0],
}
