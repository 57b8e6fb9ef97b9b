"""The database stack's reader clean-up custom resource (issue 16, point 5), read from the
compiled template; its handler is tested against the local AWS API in test_reader_cleanup."""

from __future__ import annotations

import pytest

from infra import database_cleanup

from .helpers import conditions, present


def test_cleanup_exists_whatever_the_switch_and_follows_it(database):
    """The custom resource exists with auto scaling on and off (so a console delete always runs
    it) and takes the switch as a property (so switching to Disabled is an Update it sees)."""
    for value in ("Enabled", "Disabled"):
        assert "ReaderCleanup" in present(
            database, conditions(database, {"DbReaderAutoScaling": value})
        )
    properties = database["Resources"]["ReaderCleanup"]["Properties"]
    assert properties["ClusterId"] == {"Ref": "DbCluster"}
    assert properties["AutoScaling"] == {"Ref": "DbReaderAutoScaling"}
    assert properties["ServiceToken"] == {"Fn::GetAtt": ["ReaderCleanupFunction", "Arn"]}


def test_cloudformation_gives_up_soon_after_the_lambda_timeout(database):
    """The handler replies before the Lambda's timeout; if it never does, CloudFormation fails
    the resource a minute later (ServiceTimeout), not after its one-hour default."""
    timeout = database["Resources"]["ReaderCleanupFunction"]["Properties"]["Timeout"]
    service = database["Resources"]["ReaderCleanup"]["Properties"]["ServiceTimeout"]
    assert timeout <= 900
    assert timeout < service <= timeout + 120


def test_function_is_inline_python_outside_the_vpc(database):
    """The handler module is the function's inline code; no VpcConfig (it only calls AWS APIs)."""
    properties = database["Resources"]["ReaderCleanupFunction"]["Properties"]
    assert properties["Code"]["ZipFile"] == database_cleanup.HANDLER_SOURCE.read_text()
    assert properties["Handler"] == "index.handler"
    assert properties["Runtime"].startswith("python3.")
    assert "VpcConfig" not in properties


def test_function_logs_to_its_own_encrypted_log_group_with_retention(database):
    """Its logs go to its own group, kept for a set time and encrypted with the stack's key,
    whose policy lets CloudWatch Logs use it."""
    properties = database["Resources"]["ReaderCleanupFunction"]["Properties"]
    assert properties["LoggingConfig"]["LogGroup"] == {"Ref": "ReaderCleanupLogGroup"}
    group = database["Resources"]["ReaderCleanupLogGroup"]["Properties"]
    assert group["RetentionInDays"] == {
        "Fn::Select": [0, {"Fn::Split": [" ", {"Ref": "LogRetentionDays"}]}]
    }
    assert group["KmsKeyId"] == {"Fn::GetAtt": ["DbKey", "Arn"]}
    statements = database["Resources"]["DbKey"]["Properties"]["KeyPolicy"]["Statement"]
    assert "CloudWatchLogsUsesKey" in {statement.get("Sid") for statement in statements}


def test_role_is_least_privilege(database):
    """Named actions only; instances can be deleted only if auto scaling named them; a wildcard
    resource only for the Describe call that takes no ARN; logs only to its own group."""
    (policy,) = database["Resources"]["ReaderCleanupRole"]["Properties"]["Policies"]
    allowed = {}
    for statement in policy["PolicyDocument"]["Statement"]:
        assert statement["Effect"] == "Allow"
        for action in statement["Action"]:
            assert "*" not in action, action
            allowed[action] = statement["Resource"]
    assert set(allowed) == {
        "rds:DescribeDBInstances",
        "rds:DeleteDBInstance",
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:DeregisterScalableTarget",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    assert allowed["rds:DeleteDBInstance"] == [
        {
            "Fn::Sub": "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:db:"
            "application-autoscaling-*"
        }
    ]
    wildcard = {action for action, resources in allowed.items() if "*" in resources}
    assert wildcard == {"application-autoscaling:DescribeScalableTargets"}
    assert allowed["logs:PutLogEvents"] == [{"Fn::GetAtt": ["ReaderCleanupLogGroup", "Arn"]}]


def test_a_handler_too_long_to_inline_is_a_clear_error(tmp_path, monkeypatch):
    """Inline code takes 4096 characters; a longer handler fails the build naming the limit."""
    source = tmp_path / "reader_cleanup.py"
    source.write_text("#" * 4097)
    monkeypatch.setattr(database_cleanup, "HANDLER_SOURCE", source)
    with pytest.raises(ValueError, match=r"4097 characters.*at most 4096"):
        database_cleanup.handler_source()
