"""Alarms and events for what wakes people at night, read from the compiled templates."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from infra import database as database_module
from infra.database import MAX_READERS, reader_condition

from .helpers import resources

CRITICAL = {"configuration change", "failover", "failure", "maintenance", "notification"}
AGENT_CONFIG = Path(__file__).parents[2] / "deploy" / "bootstrap" / "cloudwatch-agent.json.in"


def alarms(monitoring: dict) -> dict[str, dict]:
    """Every alarm, by logical ID, with its Condition kept beside its properties."""
    return {
        name: {**alarm["Properties"], "Condition": alarm.get("Condition")}
        for name, alarm in resources(monitoring, "AWS::CloudWatch::Alarm").items()
    }


def by_metric(monitoring: dict, metric: str) -> dict[str, dict]:
    """The alarms on one metric."""
    return {n: a for n, a in alarms(monitoring).items() if a.get("MetricName") == metric}


def dimensions(alarm: dict) -> dict:
    """An alarm's dimensions as a dict."""
    return {d["Name"]: d["Value"] for d in alarm["Dimensions"]}


@pytest.mark.parametrize(
    ("source", "ids", "categories"),
    [
        (
            "db-cluster",
            [{"Ref": "DbClusterId"}],
            CRITICAL,
        ),
        (
            "db-instance",
            {"Fn::Split": [",", {"Ref": "DbInstanceIds"}]},
            {*CRITICAL, "low storage"},
        ),
    ],
)
def test_rds_events_reach_the_alarm_topic(monitoring, source, ids, categories):
    """Failover, failure, maintenance, configuration changes, notifications (and an instance's
    low storage) are sent."""
    (subscription,) = [
        s["Properties"]
        for s in resources(monitoring, "AWS::RDS::EventSubscription").values()
        if s["Properties"]["SourceType"] == source
    ]
    assert subscription["SnsTopicArn"] == {"Ref": "AlarmTopic"}
    assert subscription["Enabled"] is True
    assert subscription["SourceIds"] == ids
    assert set(subscription["EventCategories"]) == categories


def test_rds_may_publish_to_the_encrypted_topic(monitoring):
    """RDS events of this account may use the topic's key and publish to the topic."""
    resources_ = monitoring["Resources"]
    key = resources_["AlarmKey"]["Properties"]["KeyPolicy"]["Statement"]
    topic = resources_["AlarmTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    for statements, action in ((key, "kms:GenerateDataKey"), (topic, "sns:Publish")):
        (rds,) = [
            s for s in statements if s["Principal"] == {"Service": "events.rds.amazonaws.com"}
        ]
        assert action in rds["Action"]
        assert rds["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}


def test_an_empty_target_group_raises_an_alarm(monitoring):
    """HealthyHostCount below 1, and no data at all, both alarm: UnHealthyHostCount cannot."""
    (alarm,) = by_metric(monitoring, "HealthyHostCount").values()
    assert alarm["ComparisonOperator"] == "LessThanThreshold" and alarm["Threshold"] == 1
    assert alarm["Statistic"] == "Minimum"
    assert alarm["TreatMissingData"] == "breaching"
    assert set(dimensions(alarm)) == {"TargetGroup", "LoadBalancer"}


def test_reader_cpu_has_an_alarm(monitoring):
    """The busiest reader's CPU alarms (cluster-level, Role=READER)."""
    readers = [
        a
        for a in by_metric(monitoring, "CPUUtilization").values()
        if dimensions(a).get("Role") == "READER"
    ]
    assert len(readers) == 1 and readers[0]["Statistic"] == "Maximum"


def test_every_db_instance_has_a_free_local_storage_alarm(monitoring, database, root_template):
    """The writer and each reader that exists get their own FreeLocalStorage alarm."""
    found = sorted(
        (a["Condition"] or "", dimensions(a)["DBInstanceIdentifier"])
        for a in by_metric(monitoring, "FreeLocalStorage").values()
    )
    expected = sorted(
        (
            reader_condition(i) if i else "",
            {"Fn::Select": [i, {"Fn::Split": [",", {"Ref": "DbInstanceIds"}]}]},
        )
        for i in range(MAX_READERS + 1)
    )
    assert found == expected
    # The list those indexes read: the writer, then reader n only where it exists.
    joined = database["Outputs"][database_module.DB_INSTANCE_IDS]["Value"]["Fn::Join"]
    assert joined[0] == "," and joined[1][0] == {"Ref": "WriterInstance"}
    for index, item in enumerate(joined[1][1:], start=1):
        assert item == {
            "Fn::If": [
                reader_condition(index),
                {"Ref": f"ReaderInstance{index}"},
                {"Ref": "AWS::NoValue"},
            ]
        }
    passed = root_template["Resources"]["MonitoringStack"]["Properties"]["Parameters"]
    assert passed["DbInstanceIds"] == {
        "Fn::GetAtt": ["DatabaseStack", f"Outputs.{database_module.DB_INSTANCE_IDS}"]
    }
    assert passed["DbReaderCount"] == {"Ref": "DbReaderCount"}


def test_instance_memory_and_disk_alarms_read_what_the_agent_publishes(monitoring):
    """Memory and disk alarms use the agent's metric names and its roll-up dimension."""
    config = json.loads(AGENT_CONFIG.read_text())["metrics"]
    assert config["aggregation_dimensions"] == [["AutoScalingGroupName"]]
    for plugin, metric in (("mem", "mem_used_percent"), ("disk", "disk_used_percent")):
        measurement = config["metrics_collected"][plugin]["measurement"][0]
        assert f"{plugin}_{measurement.removeprefix(plugin + '_')}" == metric
        (alarm,) = by_metric(monitoring, metric).values()
        assert alarm["Namespace"] == config["namespace"]
        assert dimensions(alarm) == {"AutoScalingGroupName": {"Ref": "AutoScalingGroupName"}}


def test_every_alarm_says_what_to_look_at_first(monitoring):
    """An alarm's description ends with where to start looking."""
    for name, alarm in alarms(monitoring).items():
        assert re.search(r"First look at: \S", alarm["AlarmDescription"]), name


def test_dashboard_shows_every_alarmed_metric(monitoring):
    """Each metric an alarm watches has a graph on the dashboard."""
    body = json.loads(
        monitoring["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    )
    shown = {metric[1] for widget in body["widgets"] for metric in widget["properties"]["metrics"]}
    watched = {a["MetricName"] for a in alarms(monitoring).values() if "MetricName" in a}
    assert watched - shown == set()
