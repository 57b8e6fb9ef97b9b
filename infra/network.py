"""The network stack: a VPC over 2 or 3 AZs with public, private (NAT) and isolated subnet tiers.

Every AZ gets one subnet per tier. The public tier holds the load balancer and the NAT gateways,
the private tier the app instances (egress through NAT, S3 through a gateway endpoint), and the
isolated tier the database (no route out of the VPC at all). AZs come from ``Fn::GetAZs``, never
from names, so the template works in any Region with enough AZs.
"""

from __future__ import annotations

from dataclasses import dataclass

from awacs import logs
from awacs.aws import Allow, ArnLike, PolicyDocument, Statement
from troposphere import (
    And,
    Cidr,
    Equals,
    GetAtt,
    GetAZs,
    If,
    Join,
    NoValue,
    Output,
    Ref,
    Select,
    Sub,
    Tags,
    Template,
)
from troposphere import Condition as ConditionRef
from troposphere.ec2 import (
    EIP,
    VPC,
    FlowLog,
    InternetGateway,
    NatGateway,
    Route,
    RouteTable,
    Subnet,
    SubnetRouteTableAssociation,
    VPCEndpoint,
    VPCGatewayAttachment,
)
from troposphere.iam import Policy, Role

from .common import (
    LOG_RETENTION,
    LOGS_GROUP,
    add_log_retention,
    add_parameter,
    assumed_by,
    key_admin_statement,
    log_group,
    logs_key_statement,
    new_template,
    rotating_key,
    set_parameter_groups,
    source_account,
)

# Output names: the root wires these into the other stacks.
VPC_ID = "VpcId"
VPC_CIDR = "VpcCidr"
PUBLIC_SUBNET_IDS = "PublicSubnetIds"
PRIVATE_SUBNET_IDS = "PrivateSubnetIds"
ISOLATED_SUBNET_IDS = "IsolatedSubnetIds"
AZ_COUNT = "AzCount"

# Subnet tiers in the order their CIDR blocks are carved from the VPC block.
TIERS = ("public", "private", "isolated")
MAX_AZS = 3
# The VPC block is cut into 16 equal slots (4 more prefix bits): 9 are used (3 tiers x 3 AZs),
# 7 stay free for a later tier without renumbering the existing subnets.
SUBNET_SLOTS = 16
SLOT_BITS = 4
# AWS allows VPCs from /16 to /28; an ALB subnet must be /27 or larger, hence /23 at most here.
MIN_VPC_PREFIX = 16
MAX_VPC_PREFIX = 27 - SLOT_BITS

# Condition names.
THREE_AZS = "ThreeAzs"
NAT_PER_AZ = "NatPerAz"
NAT_IN_AZ3 = "NatInAz3"
FLOW_LOGS = "FlowLogsEnabled"

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_PRIVATE_16 = rf"(10\.{_OCTET}|172\.(1[6-9]|2[0-9]|3[01])|192\.168)"


@dataclass(frozen=True)
class NetworkParams:
    """Build options of the network stack (what is fixed per build, not per deployment)."""

    vpc_prefix_length: int = 16

    def __post_init__(self) -> None:
        value = self.vpc_prefix_length
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"vpc_prefix_length must be an integer, got {value!r}")
        if not MIN_VPC_PREFIX <= value <= MAX_VPC_PREFIX:
            raise ValueError(
                f"vpc_prefix_length={value} is out of range: use {MIN_VPC_PREFIX} to "
                f"{MAX_VPC_PREFIX} (a VPC is at most a /{MIN_VPC_PREFIX}, and each subnet, "
                f"{SLOT_BITS} bits smaller, must stay /27 or larger for a load balancer)"
            )

    @property
    def subnet_prefix_length(self) -> int:
        """Prefix length of every subnet."""
        return self.vpc_prefix_length + SLOT_BITS

    def vpc_cidr_pattern(self) -> str:
        """A regex accepting exactly the private (RFC 1918) network addresses of this prefix."""
        step = 2 ** (24 - self.vpc_prefix_length)
        third = "|".join(str(octet) for octet in range(0, 256, step))
        if step < 256:
            third = f"({third})"
        return rf"^{_PRIVATE_16}\.{third}\.0/{self.vpc_prefix_length}$"


def _suffix(az: int) -> str:
    return str(az + 1)


def _tags(name: str, **extra: str) -> Tags:
    return Tags(Name=Sub(f"${{AWS::StackName}}-{name}"), **extra)


def _in_az(az: int, condition: str = THREE_AZS) -> dict[str, str]:
    """The Condition attribute of a resource in AZ ``az``: only the third AZ is optional."""
    return {"Condition": condition} if az >= 2 else {}


def _subnet_ids(tier: str) -> If:
    ids = [Ref(f"{tier.capitalize()}Subnet{_suffix(az)}") for az in range(MAX_AZS)]
    return If(THREE_AZS, Join(",", ids), Join(",", ids[:2]))


def _add_parameters(template: Template, params: NetworkParams) -> None:
    add_parameter(
        template,
        "VpcCidr",
        label="VPC CIDR block",
        description=(
            f"Private IPv4 block of the VPC, a /{params.vpc_prefix_length}. It is cut into "
            f"/{params.subnet_prefix_length} subnets: one public, one private and one isolated "
            "per Availability Zone."
        ),
        constraint_description=(
            f"must be a private (RFC 1918) network address with a /{params.vpc_prefix_length} "
            f"prefix, such as 10.0.0.0/{params.vpc_prefix_length}"
        ),
        Type="String",
        Default=f"10.0.0.0/{params.vpc_prefix_length}",
        AllowedPattern=params.vpc_cidr_pattern(),
    )
    add_parameter(
        template,
        "AzCount",
        label="Availability Zones",
        description=(
            "How many Availability Zones of the Region to spread over (the first ones "
            "Fn::GetAZs returns). 3 survives the loss of an AZ with two thirds of capacity; "
            "choose 2 where the account sees only two AZs in the Region (or creation fails)."
        ),
        constraint_description="must be 2 or 3",
        Type="String",
        Default="3",
        AllowedValues=["2", "3"],
    )
    add_parameter(
        template,
        "NatGateways",
        label="NAT gateways",
        description=(
            "PerAz: one NAT gateway in each AZ, so an AZ outage cuts no other AZ's egress. "
            "Single: one shared NAT gateway, cheaper, but every AZ's egress depends on the first."
        ),
        constraint_description="must be PerAz or Single",
        Type="String",
        Default="PerAz",
        AllowedValues=["PerAz", "Single"],
    )
    add_parameter(
        template,
        "FlowLogs",
        label="VPC flow logs",
        description=(
            "Enabled: record all VPC traffic to a CloudWatch Logs group encrypted with a "
            "customer-managed KMS key."
        ),
        constraint_description="must be Enabled or Disabled",
        Type="String",
        Default="Enabled",
        AllowedValues=["Enabled", "Disabled"],
    )
    add_log_retention(template)
    set_parameter_groups(
        template,
        [
            ("Network", ["VpcCidr", "AzCount", "NatGateways", "FlowLogs"]),
            (LOGS_GROUP, [LOG_RETENTION]),
        ],
    )


def _add_subnets(template: Template, params: NetworkParams) -> None:
    slot_bits = 32 - params.subnet_prefix_length
    for tier_index, tier in enumerate(TIERS):
        for az in range(MAX_AZS):
            slot = tier_index * MAX_AZS + az
            template.add_resource(
                Subnet(
                    f"{tier.capitalize()}Subnet{_suffix(az)}",
                    VpcId=Ref("Vpc"),
                    # The stack's own Region: AZs are never named, so the template fits any
                    # Region. Per the "Fn::GetAZs" reference, the list holds only AZs with a
                    # default subnet when some have one, and its order is not guaranteed.
                    AvailabilityZone=Select(az, GetAZs("")),
                    CidrBlock=Select(slot, Cidr(Ref("VpcCidr"), SUBNET_SLOTS, slot_bits)),
                    # Nothing here needs an automatic public IP: the ALB and the NAT gateways
                    # bring their own addresses.
                    MapPublicIpOnLaunch=False,
                    Tags=_tags(f"{tier}-{_suffix(az)}", Tier=tier),
                    **_in_az(az),
                )
            )


def _add_public_routing(template: Template) -> None:
    template.add_resource(InternetGateway("InternetGateway", Tags=_tags("igw")))
    template.add_resource(
        VPCGatewayAttachment(
            "InternetGatewayAttachment",
            VpcId=Ref("Vpc"),
            InternetGatewayId=Ref("InternetGateway"),
        )
    )
    template.add_resource(
        RouteTable("PublicRouteTable", VpcId=Ref("Vpc"), Tags=_tags("public", Tier="public"))
    )
    template.add_resource(
        Route(
            "PublicDefaultRoute",
            # The route fails while the gateway is not yet attached to the VPC.
            DependsOn="InternetGatewayAttachment",
            RouteTableId=Ref("PublicRouteTable"),
            DestinationCidrBlock="0.0.0.0/0",
            GatewayId=Ref("InternetGateway"),
        )
    )
    for az in range(MAX_AZS):
        suffix = _suffix(az)
        template.add_resource(
            SubnetRouteTableAssociation(
                f"PublicSubnet{suffix}RouteTableAssociation",
                SubnetId=Ref(f"PublicSubnet{suffix}"),
                RouteTableId=Ref("PublicRouteTable"),
                **_in_az(az),
            )
        )
        # The first NAT gateway always exists: Single mode shares it with every AZ.
        nat_condition = {} if az == 0 else {"Condition": NAT_PER_AZ if az == 1 else NAT_IN_AZ3}
        template.add_resource(
            EIP(
                f"NatEip{suffix}",
                DependsOn="InternetGatewayAttachment",
                Domain="vpc",
                Tags=_tags(f"nat-{suffix}"),
                **nat_condition,
            )
        )
        template.add_resource(
            NatGateway(
                f"NatGateway{suffix}",
                AllocationId=GetAtt(f"NatEip{suffix}", "AllocationId"),
                SubnetId=Ref(f"PublicSubnet{suffix}"),
                Tags=_tags(f"nat-{suffix}"),
                **nat_condition,
            )
        )


def _add_private_routing(template: Template) -> None:
    for az in range(MAX_AZS):
        suffix = _suffix(az)
        nat = (
            Ref("NatGateway1")
            if az == 0
            else If(NAT_PER_AZ, Ref(f"NatGateway{suffix}"), Ref("NatGateway1"))
        )
        template.add_resource(
            RouteTable(
                f"PrivateRouteTable{suffix}",
                VpcId=Ref("Vpc"),
                Tags=_tags(f"private-{suffix}", Tier="private"),
                **_in_az(az),
            )
        )
        template.add_resource(
            Route(
                f"PrivateDefaultRoute{suffix}",
                RouteTableId=Ref(f"PrivateRouteTable{suffix}"),
                DestinationCidrBlock="0.0.0.0/0",
                NatGatewayId=nat,
                **_in_az(az),
            )
        )
        template.add_resource(
            SubnetRouteTableAssociation(
                f"PrivateSubnet{suffix}RouteTableAssociation",
                SubnetId=Ref(f"PrivateSubnet{suffix}"),
                RouteTableId=Ref(f"PrivateRouteTable{suffix}"),
                **_in_az(az),
            )
        )
    # The app fetches its artifact and OS packages from S3 without paying NAT data charges.
    template.add_resource(
        VPCEndpoint(
            "S3GatewayEndpoint",
            VpcId=Ref("Vpc"),
            VpcEndpointType="Gateway",
            ServiceName=Sub("com.amazonaws.${AWS::Region}.s3"),
            RouteTableIds=[
                Ref("PrivateRouteTable1"),
                Ref("PrivateRouteTable2"),
                If(THREE_AZS, Ref("PrivateRouteTable3"), NoValue),
            ],
        )
    )


def _add_isolated_routing(template: Template) -> None:
    # One route table with no routes at all: only the VPC's local route.
    template.add_resource(
        RouteTable("IsolatedRouteTable", VpcId=Ref("Vpc"), Tags=_tags("isolated", Tier="isolated"))
    )
    for az in range(MAX_AZS):
        suffix = _suffix(az)
        template.add_resource(
            SubnetRouteTableAssociation(
                f"IsolatedSubnet{suffix}RouteTableAssociation",
                SubnetId=Ref(f"IsolatedSubnet{suffix}"),
                RouteTableId=Ref("IsolatedRouteTable"),
                **_in_az(az),
            )
        )


def _flow_log_key_policy() -> PolicyDocument:
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            key_admin_statement(),
            logs_key_statement(),
        ],
    )


def _add_flow_logs(template: Template) -> None:
    # Switching FlowLogs off (or deleting the stack) must not delete logs that may be needed:
    # the group and the key that decrypts it stay and the logs expire by their retention. A
    # failed first create leaves nothing behind (RetainExceptOnCreate).
    policies = {"DeletionPolicy": "RetainExceptOnCreate", "UpdateReplacePolicy": "Retain"}
    key = rotating_key(
        "FlowLogKey",
        "VPC flow logs of ${AWS::StackName}",
        _flow_log_key_policy(),
        retain=True,
        Condition=FLOW_LOGS,
    )
    key.DeletionPolicy = policies["DeletionPolicy"]
    template.add_resource(key)
    template.add_resource(log_group("FlowLogGroup", "FlowLogKey", Condition=FLOW_LOGS, **policies))
    template.add_resource(
        Role(
            "FlowLogRole",
            Condition=FLOW_LOGS,
            # Confused-deputy guard: only flow logs of this account.
            AssumeRolePolicyDocument=assumed_by(
                "vpc-flow-logs.amazonaws.com",
                source_account(),
                ArnLike(
                    "aws:SourceArn",
                    Sub(
                        "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc-flow-log/*"
                    ),
                ),
            ),
            Policies=[
                Policy(
                    PolicyName="deliver-flow-logs",
                    PolicyDocument=PolicyDocument(
                        Version="2012-10-17",
                        Statement=[
                            Statement(
                                Effect=Allow,
                                Action=[
                                    logs.CreateLogStream,
                                    logs.DescribeLogStreams,
                                    logs.PutLogEvents,
                                ],
                                Resource=[GetAtt("FlowLogGroup", "Arn")],
                            )
                        ],
                    ),
                )
            ],
        )
    )
    template.add_resource(
        FlowLog(
            "VpcFlowLog",
            Condition=FLOW_LOGS,
            ResourceId=Ref("Vpc"),
            ResourceType="VPC",
            TrafficType="ALL",
            LogDestinationType="cloud-watch-logs",
            LogGroupName=Ref("FlowLogGroup"),
            DeliverLogsPermissionArn=GetAtt("FlowLogRole", "Arn"),
            Tags=_tags("flow-log"),
        )
    )


def build(params: NetworkParams) -> Template:
    """The network stack's template."""
    template = new_template(
        "employees platform: network. A VPC over 2 or 3 Availability Zones with public, "
        "private (NAT) and isolated subnets, an S3 gateway endpoint and optional flow logs."
    )
    _add_parameters(template, params)
    template.add_condition(THREE_AZS, Equals(Ref("AzCount"), "3"))
    template.add_condition(NAT_PER_AZ, Equals(Ref("NatGateways"), "PerAz"))
    template.add_condition(NAT_IN_AZ3, And(ConditionRef(THREE_AZS), ConditionRef(NAT_PER_AZ)))
    template.add_condition(FLOW_LOGS, Equals(Ref("FlowLogs"), "Enabled"))

    template.add_resource(
        VPC(
            "Vpc",
            CidrBlock=Ref("VpcCidr"),
            # Both are needed to resolve the Aurora endpoints and other private DNS names.
            EnableDnsSupport=True,
            EnableDnsHostnames=True,
            Tags=_tags("vpc"),
        )
    )
    _add_subnets(template, params)
    _add_public_routing(template)
    _add_private_routing(template)
    _add_isolated_routing(template)
    _add_flow_logs(template)

    template.add_output(Output(VPC_ID, Description="ID of the VPC", Value=Ref("Vpc")))
    template.add_output(
        Output(VPC_CIDR, Description="IPv4 block of the VPC", Value=GetAtt("Vpc", "CidrBlock"))
    )
    # Stacks that place resources per AZ (database instances) index Fn::GetAZs with this.
    template.add_output(
        Output(AZ_COUNT, Description="Number of Availability Zones spanned", Value=Ref("AzCount"))
    )
    for name, tier, what in (
        (PUBLIC_SUBNET_IDS, "public", "public subnets (load balancer, NAT)"),
        (PRIVATE_SUBNET_IDS, "private", "private subnets with NAT egress (app instances)"),
        (ISOLATED_SUBNET_IDS, "isolated", "isolated subnets without egress (database)"),
    ):
        template.add_output(
            Output(
                name,
                Description=f"Comma-separated IDs of the {what}, one per AZ",
                Value=_subnet_ids(tier),
            )
        )
    return template
