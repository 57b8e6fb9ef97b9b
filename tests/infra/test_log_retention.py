"""Log retention: one parameter for every log group, a year or more unless chosen shorter."""

from __future__ import annotations

from troposphere.constants import LOGS_ALLOWED_RETENTION_DAYS

from .helpers import resources

PARAMETER = "LogRetentionDays"
RETENTION = {"Fn::Select": [0, {"Fn::Split": [" ", {"Ref": PARAMETER}]}]}


def days(value: str) -> int:
    """The number of days an allowed value stands for (its first word)."""
    return int(value.split(" ")[0])


def test_every_log_group_keeps_logs_as_the_one_parameter_says(templates):
    """Each log group of every stack takes its retention from LogRetentionDays, under our key."""
    groups = {
        f"{stack}/{name}": group["Properties"]
        for stack, template in templates.items()
        for name, group in resources(template, "AWS::Logs::LogGroup").items()
    }
    assert len(groups) >= 3
    for name, properties in groups.items():
        assert properties["RetentionInDays"] == RETENTION, name
        assert "KmsKeyId" in properties, name


def test_retention_defaults_to_a_year_and_labels_shorter_values(templates, root_template):
    """The default is 365 days; every value under a year says so in the console's list."""
    declared = root_template["Parameters"][PARAMETER]
    assert declared["Default"] == "365"
    values = declared["AllowedValues"]
    assert {days(value) for value in values} == set(LOGS_ALLOWED_RETENTION_DAYS)
    assert values[0] == "365"
    for value in values:
        assert ("shorter than a year" in value) is (days(value) < 365), value
    children = [t for n, t in templates.items() if n != "root" and PARAMETER in t["Parameters"]]
    assert len(children) >= 2
    for child in children:
        assert child["Parameters"][PARAMETER] == declared


def test_the_root_passes_its_one_retention_to_every_stack_with_log_groups(templates, root_template):
    """No child has a retention parameter of its own: the root's value reaches each of them."""
    for name, template in templates.items():
        if name == "root" or not resources(template, "AWS::Logs::LogGroup"):
            continue
        retention = [p for p in template["Parameters"] if "Retention" in p and "Log" in p]
        assert retention == [PARAMETER], name
        stack = root_template["Resources"][f"{name.capitalize()}Stack"]["Properties"]
        assert stack["Parameters"][PARAMETER] == {"Ref": PARAMETER}, name
