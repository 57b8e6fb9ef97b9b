"""The README's lists that describe the templates: skips and outbound traffic, kept true."""

from __future__ import annotations

import json
import re
from pathlib import Path

from infra import guard

from .helpers import resources, walk

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    """The README text under a ### heading, up to the next heading."""
    start = README.index(f"### {title}")
    following = re.search(r"^#{2,3} ", README[start + 4 :], re.MULTILINE)
    return README[start : start + 4 + following.start()] if following else README[start:]


def test_the_skips_table_lists_every_suppression_of_the_templates(templates):
    """Each (tool, check) suppressed in some template has a row in the README, and no other."""
    in_templates = {
        (tool, rule)
        for template in templates.values()
        for tool, read in (
            ("cfn-lint", guard.cfn_lint_ignores),
            ("checkov", guard.checkov_skips),
            ("cfn-guard", guard.guard_suppressions),
        )
        for rules in read(template).values()
        for rule in rules
    }
    in_readme = {
        (row.group(1), rule)
        for row in re.finditer(
            r"^\| (cfn-lint|checkov|cfn-guard) \| ([^|]+) \|",
            section("Checks skipped, and why"),
            re.MULTILINE,
        )
        for rule in re.findall(r"`([^`]+)`", row.group(2))
    }
    assert in_readme == in_templates


def test_every_internet_host_the_templates_use_is_listed(templates):
    """A host an instance fetches from (user data) is in the README's outbound list."""
    outbound = section("What the stack reaches on the internet")
    text = json.dumps({name: t for name, t in templates.items() if name != "root"})
    hosts = set(re.findall(r"https://([a-z0-9.-]+)", text))
    assert hosts, "no URL found: the search looks in the wrong place"
    for host in hosts:
        assert f"`{host}`" in outbound, host


def test_every_aws_api_the_instances_call_is_listed(app):
    """Each service whose actions the instance role allows is named in the outbound list."""
    outbound = section("What the stack reaches on the internet")
    role = app["Resources"]["InstanceRole"]["Properties"]
    services = {
        action.split(":")[0]
        for policy in role["Policies"]
        for item in walk(policy["PolicyDocument"])
        if isinstance(item, dict) and item.get("Effect") == "Allow"
        for action in item["Action"]
    }
    assert services
    for service in services - {"s3"}:
        assert f"`{service}`" in outbound, service
    assert "S3 gateway endpoint" in outbound


def test_only_https_leaves_for_the_internet(templates):
    """No security group lets anything but TCP 443 out to 0.0.0.0/0."""
    for name, template in templates.items():
        rules = [
            rule
            for group in resources(template, "AWS::EC2::SecurityGroup").values()
            for rule in group["Properties"].get("SecurityGroupEgress", [])
        ] + [r["Properties"] for r in resources(template, "AWS::EC2::SecurityGroupEgress").values()]
        for rule in rules:
            if rule.get("CidrIp") == "0.0.0.0/0":
                assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == (
                    "tcp",
                    443,
                    443,
                ), name
