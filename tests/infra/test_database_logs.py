"""The database's logs: audit, error and slow-query log groups the stack owns, under its key."""

from __future__ import annotations

import pytest

from .helpers import resources
from .test_log_retention import RETENTION

EXPORTS = ("audit", "error", "slowquery")


def cluster(database: dict) -> dict:
    """The Aurora cluster resource."""
    (found,) = resources(database, "AWS::RDS::DBCluster").values()
    return found


@pytest.mark.parametrize("kind", EXPORTS)
def test_each_exported_log_has_a_log_group_made_before_the_cluster(database, kind):
    """RDS would create /aws/rds/cluster/<id>/<kind> itself, unencrypted and kept forever."""
    db = cluster(database)
    identifier = db["Properties"]["DBClusterIdentifier"]
    expected = {"Fn::Sub": [f"/aws/rds/cluster/${{ClusterId}}/{kind}", {"ClusterId": identifier}]}
    (name,) = [
        name
        for name, group in resources(database, "AWS::Logs::LogGroup").items()
        if group["Properties"].get("LogGroupName") == expected
    ]
    group = database["Resources"][name]["Properties"]
    assert group["KmsKeyId"] == {"Fn::GetAtt": ["DbKey", "Arn"]}
    assert group["RetentionInDays"] == RETENTION
    assert name in db["DependsOn"]


def test_audit_error_and_slow_query_logs_are_exported(database):
    """The cluster exports exactly the audit, error and slow-query logs."""
    assert sorted(cluster(database)["Properties"]["EnableCloudwatchLogsExports"]) == list(EXPORTS)


def test_audit_logging_records_connections_dcl_and_ddl(database):
    """server_audit_logging is on for connects, grants and schema changes."""
    properties = cluster(database)["Properties"]
    group = database["Resources"][properties["DBClusterParameterGroupName"]["Ref"]]
    parameters = group["Properties"]["Parameters"]
    assert parameters["server_audit_logging"] == "1"
    assert set(parameters["server_audit_events"].split(",")) == {
        "CONNECT",
        "QUERY_DCL",
        "QUERY_DDL",
    }


def test_cloudwatch_logs_may_use_the_database_key(database):
    """The key's policy lets CloudWatch Logs encrypt this account's log groups."""
    statements = database["Resources"]["DbKey"]["Properties"]["KeyPolicy"]["Statement"]
    assert [s for s in statements if s.get("Sid") == "CloudWatchLogsUsesKey"]
