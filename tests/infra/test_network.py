"""Security and availability properties of the network stack, read from the compiled template."""

from __future__ import annotations

import itertools
import re

import pytest

from infra import network as network_module
from infra.network import NetworkParams

from .helpers import (
    DOCUMENTED_WILDCARDS,
    az_index,
    conditions,
    present,
    resources,
    route_table_of,
    routes_of,
)

SCENARIOS = [
    {"AzCount": azs, "NatGateways": nat, "FlowLogs": logs}
    for azs, nat, logs in itertools.product(
        ("2", "3"), ("PerAz", "Single"), ("Enabled", "Disabled")
    )
]
SCENARIO_IDS = ["-".join(scenario.values()) for scenario in SCENARIOS]


def existing(network: dict, scenario: dict[str, str]) -> dict[str, dict]:
    """The network's resources as CloudFormation creates them for the parameter values."""
    return present(network, conditions(network, scenario))


def tier(resources_now: dict[str, dict], name: str) -> dict[str, dict]:
    """Subnets of one tier among existing resources."""
    return {
        logical_id: resource
        for logical_id, resource in resources_now.items()
        if resource["Type"] == "AWS::EC2::Subnet"
        and {"Key": "Tier", "Value": name} in resource["Properties"]["Tags"]
    }


@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_each_tier_has_one_subnet_in_each_distinct_az(network, scenario):
    """Every tier has exactly one subnet in each of the first AzCount AZs of the Region."""
    now = existing(network, scenario)
    for name in network_module.TIERS:
        indexes = [az_index(subnet) for subnet in tier(now, name).values()]
        assert sorted(indexes) == list(range(int(scenario["AzCount"]))), name


def test_only_optional_resources_are_conditional(network):
    """AzCount is 2 or 3; only third-AZ, second-NAT and flow-log resources are conditional."""
    assert network["Parameters"]["AzCount"]["AllowedValues"] == ["2", "3"]
    for name, resource in network["Resources"].items():
        if name.startswith("FlowLog") or name == "VpcFlowLog":
            expected = "FlowLogsEnabled"
        elif name in ("NatEip3", "NatGateway3"):
            expected = "NatInAz3"
        elif name in ("NatEip2", "NatGateway2"):
            expected = "NatPerAz"
        elif re.search(r"(Subnet|Table|Route)3", name):
            expected = "ThreeAzs"
        else:
            expected = None
        assert resource.get("Condition") == expected, name
    assert network["Conditions"]["NatInAz3"] == {
        "Fn::And": [{"Condition": "ThreeAzs"}, {"Condition": "NatPerAz"}]
    }


@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_isolated_tier_has_no_route_out_of_the_vpc(network, scenario):
    """Isolated subnets route nowhere: no NAT, no internet gateway, no endpoint, no route."""
    now = existing(network, scenario)
    tables = {route_table_of(network, subnet) for subnet in tier(now, "isolated")}
    assert tables
    for table in tables:
        assert routes_of(network, table) == []
        for endpoint in (r for r in now.values() if r["Type"] == "AWS::EC2::VPCEndpoint"):
            assert {"Ref": table} not in endpoint["Properties"]["RouteTableIds"]
        shared_with = [
            association["Properties"]["SubnetId"]["Ref"]
            for association in now.values()
            if association["Type"] == "AWS::EC2::SubnetRouteTableAssociation"
            and association["Properties"]["RouteTableId"] == {"Ref": table}
        ]
        assert set(shared_with) == set(tier(now, "isolated"))


@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_public_tier_routes_to_the_internet_gateway(network, scenario):
    """Public subnets have a default route to the VPC's internet gateway, once it is attached."""
    now = existing(network, scenario)
    attachment = resources(network, "AWS::EC2::VPCGatewayAttachment")
    (attachment_id,) = attachment
    assert attachment[attachment_id]["Properties"]["VpcId"] == {"Ref": "Vpc"}
    gateway = attachment[attachment_id]["Properties"]["InternetGatewayId"]
    for subnet in tier(now, "public"):
        (route,) = routes_of(network, route_table_of(network, subnet))
        assert route["DestinationCidrBlock"] == "0.0.0.0/0"
        assert route["GatewayId"] == gateway
    (route_id,) = [
        name
        for name, route in resources(network, "AWS::EC2::Route").items()
        if "GatewayId" in route["Properties"]
    ]
    assert network["Resources"][route_id]["DependsOn"] == attachment_id


@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_private_tier_routes_to_a_nat_gateway(network, scenario):
    """Private subnets reach the internet only through NAT: their own AZ's, or the shared one."""
    now = existing(network, scenario)
    public_az = {name: az_index(subnet) for name, subnet in tier(now, "public").items()}
    nats = {name: r for name, r in now.items() if r["Type"] == "AWS::EC2::NatGateway"}
    expected_nats = int(scenario["AzCount"]) if scenario["NatGateways"] == "PerAz" else 1
    assert len(nats) == expected_nats
    for name, subnet in tier(now, "private").items():
        table = route_table_of(network, name)
        (route,) = [
            r
            for r in now.values()
            if r["Type"] == "AWS::EC2::Route" and r["Properties"]["RouteTableId"] == {"Ref": table}
        ]
        assert route["Properties"]["DestinationCidrBlock"] == "0.0.0.0/0"
        assert set(route["Properties"]) & {"GatewayId", "NatGatewayId"} == {"NatGatewayId"}
        nat = route["Properties"]["NatGatewayId"]["Ref"]
        assert nat in nats, f"{name} routes to {nat}, which does not exist"
        nat_az = public_az[nats[nat]["Properties"]["SubnetId"]["Ref"]]
        if scenario["NatGateways"] == "PerAz":
            assert nat_az == az_index(subnet), name
        else:
            assert nat_az == 0


def test_nat_gateways_sit_in_public_subnets_with_their_own_address(network):
    """Each NAT gateway is in a public subnet and uses an Elastic IP of the VPC."""
    public = set(tier(network["Resources"], "public"))
    for name, nat in resources(network, "AWS::EC2::NatGateway").items():
        assert nat["Properties"]["SubnetId"]["Ref"] in public, name
        eip = nat["Properties"]["AllocationId"]["Fn::GetAtt"][0]
        assert network["Resources"][eip]["Properties"]["Domain"] == "vpc"
        assert network["Resources"][eip].get("Condition") == nat.get("Condition")


def test_no_subnet_assigns_public_ips(network):
    """No subnet gives instances a public IP: the ALB and NAT gateways bring their own."""
    for name, subnet in resources(network, "AWS::EC2::Subnet").items():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False, name


def test_subnet_cidrs_are_distinct_slots_of_the_vpc_block(network):
    """Every subnet takes its own slot of Fn::Cidr over the VPC CIDR parameter."""
    slots = []
    for subnet in resources(network, "AWS::EC2::Subnet").values():
        index, cidr = subnet["Properties"]["CidrBlock"]["Fn::Select"]
        assert cidr == {"Fn::Cidr": [{"Ref": "VpcCidr"}, 16, 12]}
        slots.append(index)
    assert len(slots) == 9
    assert len(set(slots)) == len(slots)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_s3_gateway_endpoint_serves_the_private_tier(network, scenario):
    """The S3 gateway endpoint is attached to every private route table, and only those."""
    now = existing(network, scenario)
    (endpoint,) = [r for r in now.values() if r["Type"] == "AWS::EC2::VPCEndpoint"]
    assert endpoint["Properties"]["VpcEndpointType"] == "Gateway"
    assert endpoint["Properties"]["ServiceName"] == {"Fn::Sub": "com.amazonaws.${AWS::Region}.s3"}
    private_tables = [{"Ref": route_table_of(network, s)} for s in tier(now, "private")]
    assert sorted(endpoint["Properties"]["RouteTableIds"], key=str) == sorted(
        private_tables, key=str
    )


@pytest.mark.parametrize("enabled", ["Enabled", "Disabled"])
def test_flow_logs_are_optional(network, enabled):
    """Flow logs and everything they need exist only when the FlowLogs parameter enables them."""
    now = existing(network, {"FlowLogs": enabled})
    flow_kinds = {"AWS::EC2::FlowLog", "AWS::Logs::LogGroup", "AWS::KMS::Key", "AWS::IAM::Role"}
    found = {r["Type"] for r in now.values()} & flow_kinds
    assert found == (flow_kinds if enabled == "Enabled" else set())


def test_flow_logs_go_to_an_encrypted_log_group_with_retention(network):
    """The flow log records all VPC traffic to a KMS-encrypted log group with a retention."""
    ((_, flow_log),) = resources(network, "AWS::EC2::FlowLog").items()
    properties = flow_log["Properties"]
    assert properties["ResourceId"] == {"Ref": "Vpc"}
    assert properties["TrafficType"] == "ALL"
    group = network["Resources"][properties["LogGroupName"]["Ref"]]
    assert "RetentionInDays" in group["Properties"]  # its value: test_log_retention.py
    key = network["Resources"][group["Properties"]["KmsKeyId"]["Fn::GetAtt"][0]]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["Properties"]["EnableKeyRotation"] is True


def test_switching_flow_logs_off_keeps_the_logs_and_their_key(network):
    """FlowLogs Enabled -> Disabled removes the log group and its key from the stack; they are
    retained (except when their own create fails), so the logs stay readable until they expire."""
    for name in ("FlowLogGroup", "FlowLogKey"):
        assert network["Resources"][name]["DeletionPolicy"] == "RetainExceptOnCreate", name
        assert network["Resources"][name]["UpdateReplacePolicy"] == "Retain", name


def test_flow_log_role_is_least_privilege(network):
    """Only the flow logs service of this account assumes the role; it writes to one group."""
    ((_, role),) = resources(network, "AWS::IAM::Role").items()
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    (policy,) = role["Properties"]["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert all("*" not in action for action in statement["Action"])
    assert statement["Resource"] == [{"Fn::GetAtt": ["FlowLogGroup", "Arn"]}]


def test_flow_log_key_policy_names_its_actions(network):
    """The flow log key's policy lists named KMS actions only and limits CloudWatch Logs."""
    ((_, key),) = resources(network, "AWS::KMS::Key").items()
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    for statement in statements:
        assert all(
            "*" not in action
            for action in statement["Action"]
            if action not in DOCUMENTED_WILDCARDS
        )
    (logs,) = [s for s in statements if "Service" in s["Principal"]]
    assert "kms:EncryptionContext:aws:logs:arn" in logs["Condition"]["ArnLike"]


@pytest.mark.parametrize(
    ("output", "tier_name"),
    [
        (network_module.PUBLIC_SUBNET_IDS, "public"),
        (network_module.PRIVATE_SUBNET_IDS, "private"),
        (network_module.ISOLATED_SUBNET_IDS, "isolated"),
    ],
)
@pytest.mark.parametrize("azs", ["2", "3"])
def test_subnet_outputs_list_each_tier(network, output, tier_name, azs):
    """Each tier's output is the comma-joined list of that tier's existing subnets."""
    truth = conditions(network, {"AzCount": azs})
    value = present({"Resources": {"o": network["Outputs"][output]}}, truth)["o"]["Value"]
    separator, items = value["Fn::Join"]
    assert separator == ","
    assert sorted(item["Ref"] for item in items) == sorted(
        tier(existing(network, {"AzCount": azs}), tier_name)
    )


def test_vpc_and_cidr_outputs(network):
    """The stack outputs the VPC ID and its CIDR block."""
    assert network["Outputs"][network_module.VPC_ID]["Value"] == {"Ref": "Vpc"}
    assert network["Outputs"][network_module.VPC_CIDR]["Value"] == {
        "Fn::GetAtt": ["Vpc", "CidrBlock"]
    }


@pytest.mark.parametrize(
    ("prefix", "accepted", "rejected"),
    [
        (
            16,
            ["10.0.0.0/16", "10.255.0.0/16", "172.16.0.0/16", "172.31.0.0/16", "192.168.0.0/16"],
            ["10.0.0.0/8", "10.0.1.0/16", "172.32.0.0/16", "8.8.0.0/16", "10.256.0.0/16", ""],
        ),
        (20, ["10.0.16.0/20", "192.168.240.0/20"], ["10.0.8.0/20", "10.0.16.0/16"]),
    ],
)
def test_vpc_cidr_parameter_accepts_private_network_addresses_only(prefix, accepted, rejected):
    """The VPC CIDR pattern takes RFC 1918 network addresses of the built prefix length only."""
    params = NetworkParams(vpc_prefix_length=prefix)
    pattern = network_module.build(params).to_dict()["Parameters"]["VpcCidr"]["AllowedPattern"]
    assert pattern == params.vpc_cidr_pattern()
    for cidr in accepted:
        assert re.fullmatch(pattern, cidr), cidr
    for cidr in rejected:
        assert not re.fullmatch(pattern, cidr), cidr


@pytest.mark.parametrize("value", [15, 24, True, "16", None])
def test_network_params_reject_bad_prefix_lengths(value):
    """A VPC prefix length outside 16..23 (or not an int) is a ValueError naming the value."""
    with pytest.raises(ValueError, match=re.escape(repr(value))):
        NetworkParams(vpc_prefix_length=value)
