"""The security stack: the three security groups of the request chain, and nothing else.

internet -> load balancer (80/443 from a CIDR parameter) -> app (8000 from the load balancer's
group only) -> database (3306 from the app's group only).

Why a stack of its own: the database stack needs the app's group (its only source of 3306) and
the app stack needs the database's group (its only 3306 destination). Stacks may only take
outputs of stacks nested before them, so neither can own the other's group without a cycle.
Here, nested right after the network, all three groups reference each other through separate
ingress and egress resources, and the root hands each stack the ids it needs. The network stack
stays a generic VPC that knows nothing about ports of this application.
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import GetAtt, Output, Ref, Sub, Tags, Template
from troposphere.ec2 import SecurityGroup, SecurityGroupEgress, SecurityGroupIngress

from .common import add_parameter, checkov_skip, new_template, set_parameter_groups

# Output names: the root wires these into the database and app stacks.
LOAD_BALANCER_SECURITY_GROUP_ID = "LoadBalancerSecurityGroupId"
APP_SECURITY_GROUP_ID = "AppSecurityGroupId"
DB_SECURITY_GROUP_ID = "DbSecurityGroupId"

# Ports of the chain: the site's gunicorn and MySQL. The app and database stacks import them.
APP_PORT = 8000
DB_PORT = 3306
HTTP_PORT, HTTPS_PORT = 80, 443

# A group with an explicit SecurityGroupEgress loses EC2's default allow-all egress rule. This
# rule matches no traffic (ICMP type 252 code 86 to the broadcast address), so a group that
# declares it can send nothing at all.
NO_EGRESS = {
    "IpProtocol": "icmp",
    "FromPort": 252,
    "ToPort": 86,
    "CidrIp": "255.255.255.255/32",
    "Description": "Matches no traffic: removes the default allow-all egress rule",
}

_CIDR = (
    r"^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
    r"(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}/(3[0-2]|[12]?[0-9])$"
)


@dataclass(frozen=True)
class SecurityParams:
    """Build options of the security stack (none yet: everything here is per deployment)."""


def _add_parameters(template: Template) -> None:
    add_parameter(
        template,
        "VpcId",
        label="VPC",
        description="ID of the VPC the security groups belong to (the network stack's VPC).",
        constraint_description="must be the ID of an existing VPC",
        Type="AWS::EC2::VPC::Id",
    )
    add_parameter(
        template,
        "IngressCidr",
        label="Allowed client CIDR",
        description=(
            "IPv4 block allowed to reach the load balancer on ports 80 and 443. 0.0.0.0/0 is "
            "the public internet; narrow it to a corporate range for an internal site."
        ),
        constraint_description="must be an IPv4 CIDR block such as 0.0.0.0/0 or 203.0.113.0/24",
        Type="String",
        Default="0.0.0.0/0",
        AllowedPattern=_CIDR,
    )
    set_parameter_groups(template, [("Access", ["IngressCidr", "VpcId"])])


def _group(name: str, description: str, **properties: object) -> SecurityGroup:
    return SecurityGroup(
        name,
        GroupDescription=description,
        VpcId=Ref("VpcId"),
        Tags=Tags(Name=Sub(f"${{AWS::StackName}}-{name}")),
        **properties,
    )


def build(params: SecurityParams) -> Template:
    """The security stack's template."""
    del params  # no build options yet; the signature matches every other stack
    template = new_template(
        "employees platform: security groups. internet -> load balancer (80/443) -> app "
        f"({APP_PORT} from the load balancer only) -> database ({DB_PORT} from the app only)."
    )
    _add_parameters(template)

    template.add_resource(
        _group(
            "LoadBalancerSecurityGroup",
            "Load balancer: HTTP and HTTPS from the allowed CIDR; sends only to the app",
            SecurityGroupIngress=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": port,
                    "ToPort": port,
                    "CidrIp": Ref("IngressCidr"),
                    "Description": f"{what} from the allowed client CIDR",
                }
                for port, what in ((HTTP_PORT, "HTTP"), (HTTPS_PORT, "HTTPS"))
            ],
            SecurityGroupEgress=[NO_EGRESS],
            Metadata=checkov_skip(
                "CKV_AWS_260", "Public site: port 80 only redirects to HTTPS; CIDR is a parameter"
            ),
        )
    )
    template.add_resource(
        _group(
            "AppSecurityGroup",
            f"App instances: {APP_PORT} from the load balancer only",
            # HTTPS out for the AWS APIs (Secrets Manager, S3, SSM, CloudWatch) and OS and
            # Python packages; the database rule is below. Nothing else leaves.
            SecurityGroupEgress=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": HTTPS_PORT,
                    "ToPort": HTTPS_PORT,
                    "CidrIp": "0.0.0.0/0",
                    "Description": "HTTPS to AWS APIs and package repositories",
                }
            ],
        )
    )
    template.add_resource(
        _group(
            "DbSecurityGroup",
            f"Database: {DB_PORT} from the app instances only; sends nothing",
            SecurityGroupEgress=[NO_EGRESS],
        )
    )
    load_balancer = GetAtt("LoadBalancerSecurityGroup", "GroupId")
    app = GetAtt("AppSecurityGroup", "GroupId")
    database = GetAtt("DbSecurityGroup", "GroupId")
    template.add_resource(
        SecurityGroupEgress(
            "LoadBalancerToApp",
            GroupId=load_balancer,
            IpProtocol="tcp",
            FromPort=APP_PORT,
            ToPort=APP_PORT,
            DestinationSecurityGroupId=app,
            Description="Requests and health checks to the app instances",
        )
    )
    template.add_resource(
        SecurityGroupIngress(
            "AppFromLoadBalancer",
            GroupId=app,
            IpProtocol="tcp",
            FromPort=APP_PORT,
            ToPort=APP_PORT,
            SourceSecurityGroupId=load_balancer,
            Description="Requests and health checks from the load balancer",
        )
    )
    template.add_resource(
        SecurityGroupEgress(
            "AppToDb",
            GroupId=app,
            IpProtocol="tcp",
            FromPort=DB_PORT,
            ToPort=DB_PORT,
            DestinationSecurityGroupId=database,
            Description="MySQL to the Aurora cluster",
        )
    )
    template.add_resource(
        SecurityGroupIngress(
            "DbFromApp",
            GroupId=database,
            IpProtocol="tcp",
            FromPort=DB_PORT,
            ToPort=DB_PORT,
            SourceSecurityGroupId=app,
            Description="MySQL from the app instances",
        )
    )
    for name, value, what in (
        (LOAD_BALANCER_SECURITY_GROUP_ID, load_balancer, "the load balancer"),
        (APP_SECURITY_GROUP_ID, app, "the app instances"),
        (DB_SECURITY_GROUP_ID, database, "the database"),
    ):
        template.add_output(
            Output(name, Description=f"ID of the security group of {what}", Value=value)
        )
    return template
