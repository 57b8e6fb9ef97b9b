"""Small readers of compiled template dicts shared by the infra tests."""

from __future__ import annotations

from collections.abc import Iterator

from infra import resolve

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
    return resolve.conditions(template, parameters)


def present(template: dict, truth: dict[str, bool]) -> dict[str, dict]:
    """Resources that exist under the given condition values, with Fn::If resolved."""
    return resolve.present(template, truth)


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
    return resolve.evaluate(node, values, {})
