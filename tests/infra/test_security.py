"""The security chain, read from the compiled security stack: each port from one source only."""

from __future__ import annotations

import re

import pytest

from infra import security as security_module

from .helpers import security_group_rules


def group_id(name: str) -> dict:
    """The GetAtt of a security group's ID."""
    return {"Fn::GetAtt": [name, "GroupId"]}


def ports(rule: dict) -> tuple[str, int, int]:
    """(protocol, from port, to port) of a rule."""
    return rule["IpProtocol"], rule["FromPort"], rule["ToPort"]


def test_load_balancer_takes_only_80_and_443_from_the_cidr_parameter(security):
    """The load balancer's only ingress is HTTP and HTTPS from the IngressCidr parameter."""
    rules = security_group_rules(security, "LoadBalancerSecurityGroup", "Ingress")
    assert sorted(ports(rule) for rule in rules) == [("tcp", 80, 80), ("tcp", 443, 443)]
    for rule in rules:
        assert set(rule) - {"Description"} == {"IpProtocol", "FromPort", "ToPort", "CidrIp"}
        assert rule["CidrIp"] == {"Ref": "IngressCidr"}


def test_load_balancer_sends_only_to_the_app_on_8000(security):
    """The load balancer's only real egress is 8000 to the app's group."""
    rules = security_group_rules(security, "LoadBalancerSecurityGroup", "Egress")
    real = [rule for rule in rules if rule != security_module.NO_EGRESS]
    assert len(rules) == 2
    (rule,) = real
    assert ports(rule) == ("tcp", 8000, 8000)
    assert rule["DestinationSecurityGroupId"] == group_id("AppSecurityGroup")


def test_8000_reaches_the_app_from_the_load_balancer_group_only(security):
    """The app's only ingress is 8000 from the load balancer's group: no CIDR, no other port."""
    (rule,) = security_group_rules(security, "AppSecurityGroup", "Ingress")
    assert ports(rule) == ("tcp", security_module.APP_PORT, security_module.APP_PORT)
    assert rule["SourceSecurityGroupId"] == group_id("LoadBalancerSecurityGroup")
    assert not {"CidrIp", "CidrIpv6", "SourcePrefixListId"} & set(rule)


def test_app_sends_only_https_and_mysql_to_the_database(security):
    """The app may send HTTPS (AWS APIs, packages) anywhere and 3306 to the database group only."""
    rules = security_group_rules(security, "AppSecurityGroup", "Egress")
    assert sorted(ports(rule) for rule in rules) == [("tcp", 443, 443), ("tcp", 3306, 3306)]
    (mysql,) = [rule for rule in rules if rule["FromPort"] == 3306]
    assert mysql["DestinationSecurityGroupId"] == group_id("DbSecurityGroup")
    assert "CidrIp" not in mysql


def test_3306_reaches_the_database_from_the_app_group_only(security):
    """The database's only ingress is 3306 from the app's group: no CIDR, no other port."""
    (rule,) = security_group_rules(security, "DbSecurityGroup", "Ingress")
    assert ports(rule) == ("tcp", security_module.DB_PORT, security_module.DB_PORT)
    assert rule["SourceSecurityGroupId"] == group_id("AppSecurityGroup")
    assert not {"CidrIp", "CidrIpv6", "SourcePrefixListId"} & set(rule)


def test_database_group_sends_nothing(security):
    """The database group has only the match-nothing egress rule (no default allow-all)."""
    assert security_group_rules(security, "DbSecurityGroup", "Egress") == [
        security_module.NO_EGRESS
    ]


def test_every_group_replaces_the_default_egress(security):
    """Each group declares its egress, so EC2's default allow-all egress rule is never added."""
    for name in ("LoadBalancerSecurityGroup", "AppSecurityGroup", "DbSecurityGroup"):
        assert security["Resources"][name]["Properties"]["SecurityGroupEgress"], name


@pytest.mark.parametrize(
    ("cidr", "ok"),
    [
        ("0.0.0.0/0", True),
        ("203.0.113.0/24", True),
        ("10.1.2.3/32", True),
        ("256.0.0.0/8", False),
        ("10.0.0.0/33", False),
        ("10.0.0.0", False),
        ("::/0", False),
    ],
)
def test_ingress_cidr_parameter_takes_ipv4_blocks(security, cidr, ok):
    """IngressCidr accepts an IPv4 CIDR block and nothing else."""
    pattern = security["Parameters"]["IngressCidr"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, cidr)) is ok


def test_outputs_are_the_three_group_ids(security):
    """The stack outputs the ID of each group under the names the root wires."""
    assert security["Outputs"][security_module.APP_SECURITY_GROUP_ID]["Value"] == group_id(
        "AppSecurityGroup"
    )
    assert security["Outputs"][security_module.DB_SECURITY_GROUP_ID]["Value"] == group_id(
        "DbSecurityGroup"
    )
    assert security["Outputs"][security_module.LOAD_BALANCER_SECURITY_GROUP_ID][
        "Value"
    ] == group_id("LoadBalancerSecurityGroup")
