"""Properties of the monitoring stack (issue 9), read from the compiled template."""

from __future__ import annotations

import json

import pytest

from infra import monitoring as monitoring_module
from infra.monitoring import MonitoringParams

from .helpers import conditions, present, resources

ALARM = "AWS::CloudWatch::Alarm"


def alarms(monitoring: dict) -> dict[str, dict]:
    """Alarm properties by logical ID."""
    return {name: a["Properties"] for name, a in resources(monitoring, ALARM).items()}


def dimensions(alarm: dict) -> dict[str, object]:
    """An alarm's dimensions as a dict."""
    return {d["Name"]: d["Value"] for d in alarm["Dimensions"]}


def test_topic_is_encrypted_with_a_key_cloudwatch_may_use(monitoring):
    """The topic uses a customer-managed key whose policy lets CloudWatch of this account use it."""
    topic = monitoring["Resources"]["AlarmTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": ["AlarmKey", "Arn"]}
    key = monitoring["Resources"]["AlarmKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    (cloudwatch,) = [
        s
        for s in key["KeyPolicy"]["Statement"]
        if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
    assert cloudwatch["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    }


def test_only_cloudwatch_of_this_account_publishes_to_the_topic(monitoring):
    """The topic policy allows sns:Publish to CloudWatch of this account, on this topic only
    (and to RDS events: tests/infra/test_monitoring_alerts.py)."""
    (policy,) = resources(monitoring, "AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert {s["Principal"]["Service"] for s in statements} == {
        "cloudwatch.amazonaws.com",
        "events.rds.amazonaws.com",
    }
    (statement,) = [s for s in statements if s["Principal"]["Service"].startswith("cloudwatch")]
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert statement["Action"] == ["sns:Publish"]
    assert statement["Resource"] == [{"Ref": "AlarmTopic"}]
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}


@pytest.mark.parametrize(("email", "subscribed"), [("ops@example.com", True), ("", False)])
def test_email_subscription_is_optional(monitoring, email, subscribed):
    """An e-mail subscription exists only when AlarmEmail is given."""
    now = present(monitoring, conditions(monitoring, {"AlarmEmail": email}))
    found = [r for r in now.values() if r["Type"] == "AWS::SNS::Subscription"]
    assert bool(found) is subscribed
    if subscribed:
        assert found[0]["Properties"]["Protocol"] == "email"


def test_every_alarm_notifies_the_topic_on_alarm_and_ok(monitoring):
    """Each alarm sends to the topic when it fires and when it clears."""
    for name, alarm in alarms(monitoring).items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert alarm["OKActions"] == [{"Ref": "AlarmTopic"}], name


def test_error_rate_alarm_divides_5xx_by_requests(monitoring):
    """The 5xx alarm is a rate: target and ALB 5xx over requests, in percent."""
    alarm = alarms(monitoring)["ErrorRateAlarm"]
    queries = {q["Id"]: q for q in alarm["Metrics"]}
    names = {q["MetricStat"]["Metric"]["MetricName"] for q in queries.values() if "MetricStat" in q}
    assert names == {"HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count", "RequestCount"}
    (returned,) = [q for q in queries.values() if q["ReturnData"]]
    assert "/ FILL(requests, 1)" in returned["Expression"]
    assert alarm["Threshold"] == MonitoringParams().error_rate_percent


def test_latency_alarm_watches_p99(monitoring):
    """The latency alarm reads the p99 of TargetResponseTime of the load balancer."""
    alarm = alarms(monitoring)["LatencyP99Alarm"]
    assert alarm["MetricName"] == "TargetResponseTime"
    assert alarm["ExtendedStatistic"] == "p99"
    assert dimensions(alarm) == {"LoadBalancer": {"Ref": "LoadBalancerFullName"}}


def test_unhealthy_hosts_alarm_fires_on_any_unhealthy_target(monitoring):
    """Any unhealthy target in the group raises the alarm."""
    alarm = alarms(monitoring)["UnhealthyHostsAlarm"]
    assert alarm["MetricName"] == "UnHealthyHostCount"
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    assert set(dimensions(alarm)) == {"TargetGroup", "LoadBalancer"}


@pytest.mark.parametrize(
    ("name", "metric"),
    [
        ("WriterCpuAlarm", "CPUUtilization"),
        ("WriterMemoryAlarm", "FreeableMemory"),
        ("WriterConnectionsAlarm", "DatabaseConnections"),
    ],
)
def test_writer_alarms_use_the_cluster_writer_role(monitoring, name, metric):
    """Writer CPU, memory and connections are read per cluster and role, not per instance."""
    alarm = alarms(monitoring)[name]
    assert alarm["MetricName"] == metric
    assert dimensions(alarm) == {"DBClusterIdentifier": {"Ref": "DbClusterId"}, "Role": "WRITER"}


def test_replica_lag_alarm_is_cluster_level(monitoring):
    """Replica lag uses AuroraReplicaLagMaximum of the cluster (reader IDs change)."""
    alarm = alarms(monitoring)["ReplicaLagAlarm"]
    assert alarm["MetricName"] == "AuroraReplicaLagMaximum"
    assert dimensions(alarm) == {"DBClusterIdentifier": {"Ref": "DbClusterId"}}
    assert alarm["TreatMissingData"] == "notBreaching"


def test_dashboard_shows_the_alarmed_metrics(monitoring):
    """The dashboard has a widget for each alarmed metric."""
    body = monitoring["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    shown = {
        metric[1]
        for widget in json.loads(body)["widgets"]
        for metric in widget["properties"]["metrics"]
    }
    alarmed = {a["MetricName"] for a in alarms(monitoring).values() if "MetricName" in a}
    assert alarmed <= shown
    assert {"HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count", "RequestCount"} <= shown


@pytest.mark.parametrize(
    ("field", "value"),
    [("error_rate_percent", 0), ("writer_cpu_percent", 150), ("p99_seconds", True)],
)
def test_monitoring_params_reject_bad_values(field, value):
    """A bad threshold is a ValueError naming it."""
    with pytest.raises(ValueError, match=field):
        MonitoringParams(**{field: value})


def test_outputs_name_the_topic_and_dashboard(monitoring):
    """The topic ARN and dashboard name are outputs."""
    assert monitoring["Outputs"][monitoring_module.ALARM_TOPIC_ARN]["Value"] == {
        "Ref": "AlarmTopic"
    }
