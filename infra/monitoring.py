"""The monitoring stack: an encrypted SNS topic, alarms on the load balancer and the database,
and a dashboard of the same metrics.

Database alarms use cluster-level metrics (``DBClusterIdentifier``, with ``Role=WRITER`` where
the writer is meant): instance identifiers change with failover and reader auto scaling.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from awacs import kms, sns
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import Equals, GetAtt, Not, Output, Ref, Sub, Template
from troposphere.cloudwatch import Alarm, Dashboard, MetricDimension
from troposphere.sns import SubscriptionResource, Topic, TopicPolicy

from . import alerts
from .common import (
    add_parameter,
    from_properties,
    key_admin_statement,
    new_template,
    rotating_key,
    set_parameter_groups,
)

# Output names.
ALARM_TOPIC_ARN = "AlarmTopicArn"
DASHBOARD_NAME = "DashboardName"

HAS_EMAIL = "HasAlarmEmail"
ALB, RDS, EC2 = "AWS/ApplicationELB", "AWS/RDS", "AWS/EC2"


PERCENTAGES = ("reader_cpu_percent", "instance_memory_percent", "instance_disk_percent")


@dataclass(frozen=True)
class MonitoringParams:
    """Alarm thresholds (fixed per build; see the README for what each one means)."""

    error_rate_percent: float = 5.0
    p99_seconds: float = 2.0
    writer_cpu_percent: float = 80.0
    replica_lag_milliseconds: float = 2000.0
    freeable_memory_mib: int = 512
    max_connections: int = 800
    reader_cpu_percent: float = 80.0
    free_local_storage_mib: int = 1024
    instance_memory_percent: float = 90.0
    instance_disk_percent: float = 85.0

    def __post_init__(self) -> None:
        for name in (
            "error_rate_percent",
            "p99_seconds",
            "writer_cpu_percent",
            "replica_lag_milliseconds",
            "freeable_memory_mib",
            "max_connections",
            *PERCENTAGES,
            "free_local_storage_mib",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name}={value!r} must be a positive number")
        for name in ("error_rate_percent", "writer_cpu_percent", *PERCENTAGES):
            if getattr(self, name) > 100:
                raise ValueError(f"{name}={getattr(self, name)!r} is a percentage: at most 100")


def _add_parameters(template: Template) -> None:
    add_parameter(
        template,
        "AlarmEmail",
        label="Alarm e-mail",
        description="Address subscribed to the alarm topic (confirm the e-mail). Optional.",
        constraint_description="must be empty or an e-mail address",
        Type="String",
        Default="",
        AllowedPattern=r"^([^@\s]+@[^@\s]+\.[^@\s]+)?$",
    )
    for name, label, description in (
        ("LoadBalancerFullName", "Load balancer metric name", "ALB metric dimension"),
        ("TargetGroupFullName", "Target group metric name", "Target group metric dimension"),
        ("DbClusterId", "DB cluster", "Identifier of the Aurora cluster"),
        ("DbInstanceIds", "DB instances", "The writer's and readers' identifiers, in order"),
        ("AutoScalingGroupName", "Auto Scaling group", "Name of the app's group"),
    ):
        add_parameter(
            template,
            name,
            label=label,
            description=description,
            constraint_description="must be the value the root passes from another stack",
            Type="String",
            MinLength=1,
        )
    set_parameter_groups(
        template,
        [
            ("Monitoring", ["AlarmEmail"]),
            (
                "Monitoring wiring",
                [
                    "LoadBalancerFullName",
                    "TargetGroupFullName",
                    "DbClusterId",
                    "DbInstanceIds",
                    "AutoScalingGroupName",
                ],
            ),
        ],
    )


def _key_policy() -> PolicyDocument:
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            key_admin_statement(),
            Statement(
                Sid="CloudWatchPublishesEncrypted",
                Effect=Allow,
                Principal=Principal("Service", "cloudwatch.amazonaws.com"),
                Action=[kms.Decrypt, kms.GenerateDataKey],
                Resource=["*"],
                Condition=Condition(StringEquals("aws:SourceAccount", Ref("AWS::AccountId"))),
            ),
            alerts.rds_events_key_statement(),
        ],
    )


def _add_topic(template: Template) -> None:
    template.add_resource(
        rotating_key("AlarmKey", "Alarm topic of ${AWS::StackName}", _key_policy(), retain=False)
    )
    template.add_resource(Topic("AlarmTopic", KmsMasterKeyId=GetAtt("AlarmKey", "Arn")))
    template.add_resource(
        TopicPolicy(
            "AlarmTopicPolicy",
            Topics=[Ref("AlarmTopic")],
            PolicyDocument=PolicyDocument(
                Version="2012-10-17",
                Statement=[
                    Statement(
                        Sid="CloudWatchAlarmsPublish",
                        Effect=Allow,
                        Principal=Principal("Service", "cloudwatch.amazonaws.com"),
                        Action=[sns.Publish],
                        Resource=[Ref("AlarmTopic")],
                        Condition=Condition(
                            StringEquals("aws:SourceAccount", Ref("AWS::AccountId"))
                        ),
                    ),
                    alerts.rds_events_topic_statement(),
                ],
            ),
        )
    )
    template.add_resource(
        SubscriptionResource(
            "AlarmEmailSubscription",
            Condition=HAS_EMAIL,
            TopicArn=Ref("AlarmTopic"),
            Protocol="email",
            Endpoint=Ref("AlarmEmail"),
        )
    )


def _dimensions(**values: object) -> list[MetricDimension]:
    return [MetricDimension(Name=name, Value=value) for name, value in values.items()]


_alarm = alerts.alarm


def _metric_query(identity: str, metric: str, statistic: str = "Sum") -> dict:
    return {
        "Id": identity,
        "ReturnData": False,
        "MetricStat": {
            "Metric": {
                "Namespace": ALB,
                "MetricName": metric,
                "Dimensions": [{"Name": "LoadBalancer", "Value": Ref("LoadBalancerFullName")}],
            },
            "Period": 60,
            "Stat": statistic,
        },
    }


def _add_alarms(template: Template, params: MonitoringParams) -> None:
    load_balancer = _dimensions(LoadBalancer=Ref("LoadBalancerFullName"))
    writer = _dimensions(DBClusterIdentifier=Ref("DbClusterId"), Role="WRITER")
    template.add_resource(
        from_properties(
            Alarm,
            "ErrorRateAlarm",
            {
                "AlarmDescription": (
                    f"More than {params.error_rate_percent:g}% of requests answered 5xx "
                    "(load balancer or targets). First look at: the app log group's lines with "
                    "status 5xx, then the unhealthy-hosts and database alarms"
                ),
                "AlarmActions": [Ref("AlarmTopic")],
                "OKActions": [Ref("AlarmTopic")],
                "EvaluationPeriods": 5,
                "DatapointsToAlarm": 3,
                "TreatMissingData": "notBreaching",
                "ComparisonOperator": "GreaterThanThreshold",
                "Threshold": params.error_rate_percent,
                "Metrics": [
                    _metric_query("targets", "HTTPCode_Target_5XX_Count"),
                    _metric_query("balancer", "HTTPCode_ELB_5XX_Count"),
                    _metric_query("requests", "RequestCount"),
                    {
                        "Id": "rate",
                        "Label": "5xx rate (%)",
                        "ReturnData": True,
                        "Expression": (
                            "100 * (FILL(targets, 0) + FILL(balancer, 0)) / FILL(requests, 1)"
                        ),
                    },
                ],
            },
        )
    )
    template.add_resource(
        _alarm(
            "LatencyP99Alarm",
            f"p99 target response time above {params.p99_seconds:g} s. First look at: the "
            "app log group's slowest requests (duration, aliases) and the writer's CPU",
            Namespace=ALB,
            MetricName="TargetResponseTime",
            Dimensions=load_balancer,
            ExtendedStatistic="p99",
            ComparisonOperator="GreaterThanThreshold",
            Threshold=params.p99_seconds,
        )
    )
    template.add_resource(
        _alarm(
            "UnhealthyHostsAlarm",
            "An instance fails the load balancer's /healthz check. First look at: the "
            "gunicorn log group of that instance",
            Namespace=ALB,
            MetricName="UnHealthyHostCount",
            Dimensions=_dimensions(
                TargetGroup=Ref("TargetGroupFullName"), LoadBalancer=Ref("LoadBalancerFullName")
            ),
            Statistic="Maximum",
            ComparisonOperator="GreaterThanThreshold",
            Threshold=0,
        )
    )
    template.add_resource(
        _alarm(
            "WriterCpuAlarm",
            f"Aurora writer CPU above {params.writer_cpu_percent:g}%. First look at: "
            "Performance Insights' top SQL on the writer, and the slow-query log group",
            Namespace=RDS,
            MetricName="CPUUtilization",
            Dimensions=writer,
            Statistic="Average",
            ComparisonOperator="GreaterThanThreshold",
            Threshold=params.writer_cpu_percent,
        )
    )
    template.add_resource(
        _alarm(
            "ReplicaLagAlarm",
            f"Some Aurora reader lags the writer by more than {params.replica_lag_milliseconds:g}"
            " ms (cluster-level maximum; no readers, no data). First look at: the writer's "
            "write load and the readers' CPU",
            Namespace=RDS,
            MetricName="AuroraReplicaLagMaximum",
            Dimensions=_dimensions(DBClusterIdentifier=Ref("DbClusterId")),
            Statistic="Maximum",
            ComparisonOperator="GreaterThanThreshold",
            Threshold=params.replica_lag_milliseconds,
        )
    )
    template.add_resource(
        _alarm(
            "WriterMemoryAlarm",
            f"Aurora writer freeable memory below {params.freeable_memory_mib} MiB. First look "
            "at: the writer's connections and the instance class",
            Namespace=RDS,
            MetricName="FreeableMemory",
            Dimensions=writer,
            Statistic="Minimum",
            ComparisonOperator="LessThanThreshold",
            Threshold=params.freeable_memory_mib * 1024 * 1024,
        )
    )
    template.add_resource(
        _alarm(
            "WriterConnectionsAlarm",
            f"More than {params.max_connections} connections to the Aurora writer. First look "
            "at: the instance count and gunicorn's workers x threads per instance",
            Namespace=RDS,
            MetricName="DatabaseConnections",
            Dimensions=writer,
            Statistic="Maximum",
            ComparisonOperator="GreaterThanThreshold",
            Threshold=params.max_connections,
        )
    )


def dashboard_body() -> str:
    """The dashboard's JSON, an Fn::Sub template of the same metrics as the alarms."""
    load_balancer = ["LoadBalancer", "${LoadBalancerFullName}"]
    target_group = ["TargetGroup", "${TargetGroupFullName}", *load_balancer]
    writer = ["DBClusterIdentifier", "${DbClusterId}", "Role", "WRITER"]

    widget = alerts.metric_widget

    widgets = [
        widget(
            "Requests and 5xx",
            [
                [ALB, "RequestCount", *load_balancer],
                [ALB, "HTTPCode_Target_5XX_Count", *load_balancer],
                [ALB, "HTTPCode_ELB_5XX_Count", *load_balancer],
            ],
            0,
            0,
        ),
        widget(
            "Target response time p99 (s)",
            [[ALB, "TargetResponseTime", *load_balancer]],
            12,
            0,
            "p99",
        ),
        widget(
            "Healthy and unhealthy instances",
            [
                [ALB, "HealthyHostCount", *target_group],
                [ALB, "UnHealthyHostCount", *target_group],
            ],
            0,
            6,
            "Maximum",
        ),
        widget(
            "Instance CPU (%)",
            [[EC2, "CPUUtilization", "AutoScalingGroupName", "${AutoScalingGroupName}"]],
            12,
            6,
            "Average",
        ),
        widget("Writer CPU (%)", [[RDS, "CPUUtilization", *writer]], 0, 12, "Average"),
        widget(
            "Replica lag, maximum (ms)",
            [[RDS, "AuroraReplicaLagMaximum", "DBClusterIdentifier", "${DbClusterId}"]],
            12,
            12,
            "Maximum",
        ),
        widget(
            "Writer freeable memory (bytes)", [[RDS, "FreeableMemory", *writer]], 0, 18, "Minimum"
        ),
        widget("Writer connections", [[RDS, "DatabaseConnections", *writer]], 12, 18, "Maximum"),
        *alerts.widgets(24),
    ]
    return json.dumps({"widgets": widgets}, sort_keys=True)


def build(params: MonitoringParams) -> Template:
    """The monitoring stack's template."""
    template = new_template(
        "employees platform: monitoring. Encrypted SNS alarm topic, alarms on ALB errors, "
        "latency and health and on the Aurora writer and replica lag, and a dashboard."
    )
    _add_parameters(template)
    template.add_condition(HAS_EMAIL, Not(Equals(Ref("AlarmEmail"), "")))
    _add_topic(template)
    _add_alarms(template, params)
    alerts.add_parameters(template)
    alerts.add_event_subscriptions(template)
    alerts.add_alarms(template, params)
    template.add_resource(Dashboard("Dashboard", DashboardBody=Sub(dashboard_body())))
    template.add_output(
        Output(ALARM_TOPIC_ARN, Description="ARN of the alarm topic", Value=Ref("AlarmTopic"))
    )
    template.add_output(
        Output(
            DASHBOARD_NAME, Description="Name of the CloudWatch dashboard", Value=Ref("Dashboard")
        )
    )
    return template
