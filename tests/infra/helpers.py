"""Small readers of compiled template dicts shared by the infra tests."""

from __future__ import annotations

from collections.abc import Iterator

# Wildcard actions allowed in policies: what AWS's documented key policy for CloudWatch Logs
# grants, written as AWS writes it.
DOCUMENTED_WILDCARDS = {"kms:GenerateDataKey*"}


def resources(template: dict, kind: str) -> dict[str, dict]:
    """Resources of one type, by logical ID."""
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == kind
    }


def az_index(subnet: dict) -> int:
    """The index into Fn::GetAZs of the current Region that places a subnet."""
    az = subnet["Properties"]["AvailabilityZone"]
    index, azs = az["Fn::Select"]
    assert azs == {"Fn::GetAZs": ""}, az
    return index


def route_table_of(template: dict, subnet: str) -> str:
    """Logical ID of the route table associated with a subnet (exactly one)."""
    tables = [
        association["Properties"]["RouteTableId"]["Ref"]
        for association in resources(template, "AWS::EC2::SubnetRouteTableAssociation").values()
        if association["Properties"]["SubnetId"] == {"Ref": subnet}
    ]
    assert len(tables) == 1, f"{subnet} has {len(tables)} route table associations"
    return tables[0]


def routes_of(template: dict, table: str) -> list[dict]:
    """Properties of the routes in one route table."""
    return [
        route["Properties"]
        for route in resources(template, "AWS::EC2::Route").values()
        if route["Properties"]["RouteTableId"] == {"Ref": table}
    ]


def walk(node: object) -> Iterator[object]:
    """Every dict, list and scalar inside a template, depth first."""
    yield node
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def refs(node: object) -> set[str]:
    """Names referenced with Ref anywhere inside a node."""
    return {
        item["Ref"]
        for item in walk(node)
        if isinstance(item, dict) and set(item) == {"Ref"} and isinstance(item["Ref"], str)
    }


def conditions(template: dict, parameters: dict[str, str]) -> dict[str, bool]:
    """Truth of every Condition for the given parameter values (defaults fill the rest)."""
    # A Region opened after the ELB log-delivery accounts list (any name works that is not in it).
    values = {"AWS::Region": "xx-test-1"} | {
        name: str(parameter.get("Default"))
        for name, parameter in template.get("Parameters", {}).items()
    }
    values.update(parameters)
    declared = template.get("Conditions", {})

    def truth(node: object) -> object:
        if isinstance(node, dict):
            ((function, argument),) = node.items()
            if function == "Ref":
                return values[argument]
            if function == "Fn::FindInMap":
                table, first, second = (truth(item) for item in argument)
                return template["Mappings"][table][first][second]
            if function == "Condition":
                return truth(declared[argument])
            if function == "Fn::Equals":
                return truth(argument[0]) == truth(argument[1])
            if function == "Fn::And":
                return all(truth(item) for item in argument)
            if function == "Fn::Or":
                return any(truth(item) for item in argument)
            if function == "Fn::Not":
                return not truth(argument[0])
            raise AssertionError(f"cannot evaluate {function} in a condition")
        return node

    return {name: bool(truth(body)) for name, body in declared.items()}


def present(template: dict, truth: dict[str, bool]) -> dict[str, dict]:
    """Resources that exist under the given condition values, with Fn::If resolved."""
    return {
        name: resolve(resource, truth)
        for name, resource in template["Resources"].items()
        if truth.get(resource.get("Condition"), True)
    }


def resolve(node: object, truth: dict[str, bool]) -> object:
    """A node with every Fn::If resolved and AWS::NoValue dropped."""
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            condition, when_true, when_false = node["Fn::If"]
            return resolve(when_true if truth[condition] else when_false, truth)
        resolved = {key: resolve(value, truth) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value != _NO_VALUE}
    if isinstance(node, list):
        return [item for item in (resolve(value, truth) for value in node) if item != _NO_VALUE]
    return node


_NO_VALUE = {"Ref": "AWS::NoValue"}


def security_group_rules(template: dict, group: str, direction: str) -> list[dict]:
    """Every ingress or egress rule of a security group: inline ones and separate resources.

    ``direction`` is "Ingress" or "Egress". A separate rule names its group by GetAtt or Ref.
    """
    declared = template["Resources"][group]["Properties"].get(f"SecurityGroup{direction}", [])
    separate = [
        resource["Properties"]
        for resource in resources(template, f"AWS::EC2::SecurityGroup{direction}").values()
        if resource["Properties"]["GroupId"] in ({"Fn::GetAtt": [group, "GroupId"]}, {"Ref": group})
    ]
    return [*declared, *separate]


def evaluate_rule(node: object, values: dict[str, str]) -> object:
    """Value of a Rules expression (Fn::And/Or/Not/Equals/Contains, Ref) for parameter values."""
    if isinstance(node, dict):
        ((function, argument),) = node.items()
        if function == "Ref":
            return values[argument]
        arguments = [evaluate_rule(item, values) for item in argument]
        if function == "Fn::Equals":
            return arguments[0] == arguments[1]
        if function == "Fn::Contains":
            return arguments[1] in arguments[0]
        if function == "Fn::And":
            return all(arguments)
        if function == "Fn::Or":
            return any(arguments)
        if function == "Fn::Not":
            return not arguments[0]
        raise AssertionError(f"cannot evaluate {function}")
    if isinstance(node, list):
        return [evaluate_rule(item, values) for item in node]
    return node
