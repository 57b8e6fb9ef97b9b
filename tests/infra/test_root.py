"""Properties of the root stack and of its wiring, read from the compiled templates."""

from __future__ import annotations

import re

import pytest
from troposphere import Equals, Output, Ref, Template

from infra import app, database, edge, network, root, security
from infra.common import INTERFACE, add_parameter

from .helpers import refs, resources

NESTED_STACK = "AWS::CloudFormation::Stack"


def test_every_nested_stack_has_deletion_and_update_replace_policies(root_template):
    """Each nested stack sets DeletionPolicy and UpdateReplacePolicy (cfn-lint I3011)."""
    stacks = resources(root_template, NESTED_STACK)
    assert stacks
    for name, stack in stacks.items():
        assert stack["DeletionPolicy"] == "Delete", name
        assert stack["UpdateReplacePolicy"] == "Delete", name


def test_template_urls_come_from_bucket_and_prefix(root_template):
    """Each child's TemplateURL is the regional S3 URL of <prefix><child>.yaml in the bucket."""
    stacks = resources(root_template, NESTED_STACK)
    for child in root.children(root.RootParams()):
        stack = stacks[root.logical_id(child.name)]
        assert stack["Properties"]["TemplateURL"] == {
            "Fn::Sub": "https://${TemplatesBucket}.s3.${AWS::Region}.${AWS::URLSuffix}/"
            f"${{TemplatesPrefix}}{child.name}.yaml"
        }


@pytest.mark.parametrize(
    ("prefix", "ok"),
    [
        ("employees-platform/templates/", True),
        ("a/", True),
        ("v1.2/(x)/", True),
        ("", False),
        ("templates", False),
        ("/templates/", False),
        ("a//b/", False),
        ("a b/", False),
    ],
)
def test_templates_prefix_must_end_with_a_slash(root_template, prefix, ok):
    """TemplatesPrefix takes key segments each ending with '/', nothing else."""
    pattern = root_template["Parameters"][root.TEMPLATES_PREFIX]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, prefix)) is ok


@pytest.mark.parametrize(
    ("bucket", "ok"),
    [
        ("my-templates-1", True),
        ("abc", True),
        ("My-Bucket", False),
        ("a.b.c", False),
        ("ab", False),
    ],
)
def test_templates_bucket_pattern(root_template, bucket, ok):
    """TemplatesBucket takes S3 bucket names without dots (the HTTPS URL needs that)."""
    pattern = root_template["Parameters"][root.TEMPLATES_BUCKET]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, bucket)) is ok


def test_root_passes_exactly_the_parameters_each_child_declares(templates, root_template):
    """The parameters the root passes to a child are exactly the child's parameters."""
    stacks = resources(root_template, NESTED_STACK)
    for child in root.children(root.RootParams()):
        passed = stacks[root.logical_id(child.name)]["Properties"]["Parameters"]
        assert set(passed) == set(templates[child.name]["Parameters"]), child.name


def test_exposed_parameters_match_the_child_declarations(templates, root_template):
    """A child parameter the root exposes is declared identically at the root and passed by Ref."""
    stacks = resources(root_template, NESTED_STACK)
    for child in root.children(root.RootParams()):
        passed = stacks[root.logical_id(child.name)]["Properties"]["Parameters"]
        for name, declared in templates[child.name]["Parameters"].items():
            if name in child.wiring:
                continue
            assert root_template["Parameters"][name] == declared, name
            assert passed[name] == {"Ref": name}


def test_root_declares_only_parameters_it_uses(root_template):
    """Every root parameter is referenced (cfn-lint W2001 would flag a dead one)."""
    used = refs(root_template["Resources"]) | {
        name
        for stack in root_template["Resources"].values()
        for name in re.findall(r"\$\{(\w+)\}", str(stack["Properties"].get("TemplateURL")))
    }
    assert set(root_template["Parameters"]) <= used


def test_root_outputs_forward_child_outputs(templates, root_template):
    """Root outputs are GetAtt of an output the named child declares."""
    assert root_template["Outputs"][root.VPC_ID]["Value"] == {
        "Fn::GetAtt": ["NetworkStack", f"Outputs.{network.VPC_ID}"]
    }
    for name, output in root_template["Outputs"].items():
        stack, attribute = output["Value"]["Fn::GetAtt"]
        child = stack.removesuffix("Stack").lower()
        assert attribute.removeprefix("Outputs.") in templates[child]["Outputs"], name


def _child(parameters: dict[str, dict], outputs: tuple[str, ...] = ()) -> Template:
    template = Template()
    for parameter, properties in parameters.items():
        add_parameter(
            template,
            parameter,
            label=parameter,
            description="d",
            constraint_description="c",
            Type="String",
            **properties,
        )
    for output in outputs:
        template.add_output(Output(output, Value="x"))
    return template


def test_nest_wires_outputs_and_exposes_the_rest():
    """A wired parameter gets GetAtt of the producer's output; the others become root params."""
    producer = root.Child("alpha", _child({"Size": {"MaxLength": 3}}, ("Thing",)))
    consumer = root.Child(
        "beta",
        _child({"Thing": {"MaxLength": 9}, "Size": {"MaxLength": 3}}),
        wiring={"Thing": root.Wire("alpha", "Thing")},
    )
    compiled = root.nest([producer, consumer]).to_dict()
    passed = compiled["Resources"]["BetaStack"]["Properties"]["Parameters"]
    assert passed == {
        "Size": {"Ref": "Size"},
        "Thing": {"Fn::GetAtt": ["AlphaStack", "Outputs.Thing"]},
    }
    assert "Thing" not in compiled["Parameters"]
    assert "Size" in compiled["Parameters"]
    groups = compiled["Metadata"][INTERFACE]["ParameterGroups"]
    assert [(g["Label"]["default"], g["Parameters"]) for g in groups] == [
        ("Alpha", ["Size"]),
        ("Template location", [root.TEMPLATES_BUCKET, root.TEMPLATES_PREFIX]),
    ]


@pytest.mark.parametrize(
    ("wiring", "message"),
    [
        ({"Missing": root.Wire("alpha", "Thing")}, "lacks it"),
        ({"Thing": root.Wire("alpha", "Nope")}, "which alpha lacks"),
        ({"Thing": root.Wire("gamma", "Thing")}, "not a stack nested before it"),
    ],
)
def test_nest_rejects_wiring_that_does_not_fit(wiring, message):
    """Wiring a parameter or output a template lacks is a ValueError at build time."""
    producer = root.Child("alpha", _child({}, ("Thing",)))
    consumer = root.Child("beta", _child({"Thing": {"MaxLength": 9}}), wiring=wiring)
    with pytest.raises(ValueError, match=message):
        root.nest([producer, consumer])


def test_nest_rejects_a_parameter_declared_two_ways():
    """Two children declaring one exposed parameter differently is a ValueError."""
    first = root.Child("alpha", _child({"Size": {"MaxLength": 3}}))
    second = root.Child("beta", _child({"Size": {"MaxLength": 4}}))
    with pytest.raises(ValueError, match="Size"):
        root.nest([first, second])


def test_nest_hoists_child_rules_to_the_root():
    """A child's Rules are copied to the root, which checks them before creating anything."""
    child = _child({"Mode": {"AllowedValues": ["a", "b"]}})
    rule = {"Assertions": [{"Assert": Equals(Ref("Mode"), "a"), "AssertDescription": "x"}]}
    child.add_rule("ModeIsA", rule)
    compiled = root.nest([root.Child("alpha", child)]).to_dict()
    assert compiled["Rules"]["ModeIsA"]["Assertions"][0]["Assert"] == {
        "Fn::Equals": [{"Ref": "Mode"}, "a"]
    }


def test_nest_rejects_a_rule_on_a_wired_parameter():
    """A hoisted rule may only refer to root parameters: a wired value is not known up front."""
    producer = root.Child("alpha", _child({}, ("Thing",)))
    template = _child({"Thing": {"MaxLength": 9}})
    template.add_rule("R", {"Assertions": [{"Assert": Equals(Ref("Thing"), "x")}]})
    consumer = root.Child("beta", template, wiring={"Thing": root.Wire("alpha", "Thing")})
    with pytest.raises(ValueError, match="Thing"):
        root.nest([producer, consumer])


def test_root_params_reject_a_wrong_child_params_type():
    """RootParams takes each child's own params dataclass, nothing else."""
    with pytest.raises(ValueError, match="NetworkParams"):
        root.RootParams(network={"vpc_prefix_length": 16})


def test_database_takes_isolated_subnets_azs_and_its_group_from_earlier_stacks(root_template):
    """The database gets the isolated subnets and AZ count of the network, its group from
    the security stack: never a subnet or group the console user types."""
    passed = root_template["Resources"]["DatabaseStack"]["Properties"]["Parameters"]
    assert passed["IsolatedSubnetIds"] == {
        "Fn::GetAtt": ["NetworkStack", f"Outputs.{network.ISOLATED_SUBNET_IDS}"]
    }
    assert passed["AzCount"] == {"Fn::GetAtt": ["NetworkStack", f"Outputs.{network.AZ_COUNT}"]}
    assert passed[database.DB_SECURITY_GROUP_ID] == {
        "Fn::GetAtt": ["SecurityStack", f"Outputs.{security.DB_SECURITY_GROUP_ID}"]
    }


def test_security_groups_live_in_the_vpc_of_the_network_stack(root_template):
    """The security stack's groups are created in the network stack's VPC."""
    passed = root_template["Resources"]["SecurityStack"]["Properties"]["Parameters"]
    assert passed["VpcId"] == {"Fn::GetAtt": ["NetworkStack", f"Outputs.{network.VPC_ID}"]}


def test_root_outputs_the_database_connection_values(root_template):
    """WriterEndpoint, ReaderEndpoint, DbPort, DbName and both secrets (DbSecretArn, the app
    user's; DbMasterSecretArn, the master's) come from the database."""
    for name in (
        "WriterEndpoint",
        "ReaderEndpoint",
        "DbPort",
        "DbName",
        "DbSecretArn",
        "DbMasterSecretArn",
    ):
        assert root_template["Outputs"][name]["Value"] == {
            "Fn::GetAtt": ["DatabaseStack", f"Outputs.{name}"]
        }


def test_database_rules_are_checked_at_the_root(root_template):
    """The reader capacity Rule is hoisted to the root, before any stack is created."""
    assert "DbReaderCapacityInOrder" in root_template["Rules"]


def test_edge_takes_public_subnets_and_the_load_balancer_group(root_template):
    """The edge gets the network's public subnets and VPC and the load balancer's group."""
    passed = root_template["Resources"]["EdgeStack"]["Properties"]["Parameters"]
    assert passed["PublicSubnetIds"] == {
        "Fn::GetAtt": ["NetworkStack", f"Outputs.{network.PUBLIC_SUBNET_IDS}"]
    }
    assert passed["LoadBalancerSecurityGroupId"] == {
        "Fn::GetAtt": ["SecurityStack", f"Outputs.{security.LOAD_BALANCER_SECURITY_GROUP_ID}"]
    }
    for name in ("SiteUrl", "LoadBalancerDnsName"):
        assert root_template["Outputs"][name]["Value"] == {
            "Fn::GetAtt": ["EdgeStack", f"Outputs.{name}"]
        }


def test_app_takes_every_connection_value_from_earlier_stacks(root_template):
    """Hosts, port, name, secrets, groups and the target group reach the app from their stacks."""
    passed = root_template["Resources"]["AppStack"]["Properties"]["Parameters"]
    expected = {
        "PrivateSubnetIds": ("NetworkStack", network.PRIVATE_SUBNET_IDS),
        "AppSecurityGroupId": ("SecurityStack", security.APP_SECURITY_GROUP_ID),
        "TargetGroupArn": ("EdgeStack", edge.TARGET_GROUP_ARN),
        "DbWriterHost": ("DatabaseStack", database.WRITER_ENDPOINT),
        "DbReaderHost": ("DatabaseStack", database.READER_ENDPOINT),
        "DbPort": ("DatabaseStack", database.DB_PORT_OUTPUT),
        "DbName": ("DatabaseStack", database.DB_NAME),
        "DbSecretArn": ("DatabaseStack", database.DB_SECRET_ARN),
        "DbKmsKeyArn": ("DatabaseStack", database.DB_KMS_KEY_ARN),
    }
    for parameter, (stack, output) in expected.items():
        assert passed[parameter] == {"Fn::GetAtt": [stack, f"Outputs.{output}"]}, parameter
    for parameter in ("ArtifactBucket", "ArtifactKey"):
        assert passed[parameter] == {"Ref": parameter}


def test_root_outputs_are_those_of_the_design(root_template):
    """The root outputs every name DESIGN.md lists (plus the VPC ID)."""
    design = {
        "SiteUrl",
        "LoadBalancerDnsName",
        "WriterEndpoint",
        "ReaderEndpoint",
        "DbPort",
        "DbName",
        "DbSecretArn",
        "DbMasterSecretArn",
        "AppSecretArn",
    }
    assert design <= set(root_template["Outputs"])


def test_root_takes_the_parameters_deploy_fills_in(root_template):
    """TemplatesBucket/Prefix, ArtifactBucket/Key, and optional DomainName, CertificateArn and
    HostedZoneId (empty by default) are root parameters."""
    parameters = root_template["Parameters"]
    for name in ("TemplatesBucket", "TemplatesPrefix", "ArtifactBucket", "ArtifactKey"):
        assert name in parameters
    for name in ("DomainName", "CertificateArn", "HostedZoneId"):
        assert parameters[name]["Default"] == ""


def test_every_child_rule_is_also_on_the_root(root_template, templates):
    """A Rule only a child checks runs 20-30 minutes into a create, after the network and the
    database exist; on the root every one (the app's size order too) fails before anything."""
    for name, template in templates.items():
        for rule, body in template.get("Rules", {}).items():
            assert root_template["Rules"].get(rule) == body, f"{name} rule {rule}"
    assert app.SIZE_RULE in root_template["Rules"]


def test_monitoring_watches_the_edge_database_and_app_it_is_given(root_template):
    """Monitoring gets the ALB and target group names, the cluster ID and the group name."""
    passed = root_template["Resources"]["MonitoringStack"]["Properties"]["Parameters"]
    assert passed["DbClusterId"] == {
        "Fn::GetAtt": ["DatabaseStack", f"Outputs.{database.DB_CLUSTER_ID}"]
    }
    assert passed["LoadBalancerFullName"] == {
        "Fn::GetAtt": ["EdgeStack", f"Outputs.{edge.LOAD_BALANCER_FULL_NAME}"]
    }
    assert passed["AutoScalingGroupName"] == {
        "Fn::GetAtt": ["AppStack", f"Outputs.{app.AUTO_SCALING_GROUP_NAME}"]
    }
