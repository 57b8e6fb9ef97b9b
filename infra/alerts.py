"""What pages people at night, for the monitoring stack: RDS events, an empty target group,
reader CPU, each DB instance's local storage, and the instances' memory and disk.

Each alarm's description starts with what went wrong and ends with what to look at first.
"""

from __future__ import annotations

from awacs import kms, sns
from awacs.aws import (
    Allow,
    ArnLike,
    Condition,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import Ref, Select, Split, Sub, Template
from troposphere.cloudwatch import Alarm, MetricDimension
from troposphere.rds import EventSubscription

from .common import parameter_groups, set_parameter_groups
from .database import MAX_READERS, add_reader_conditions, add_reader_count, reader_condition

ALB, RDS, AGENT = "AWS/ApplicationELB", "AWS/RDS", "CWAgent"
RDS_EVENTS = "events.rds.amazonaws.com"
# RDS event categories ("Amazon RDS event categories and event messages"): clusters have no
# "low storage"; an Aurora instance's is its local (temporary) storage.
# "configuration change" too: a class or parameter change is the first suspect after a page.
CLUSTER_EVENTS = ("configuration change", "failover", "failure", "maintenance", "notification")
INSTANCE_EVENTS = (*CLUSTER_EVENTS, "low storage")
# What the CloudWatch agent on each instance publishes, rolled up by Auto Scaling group
# (deploy/bootstrap/cloudwatch-agent.json.in: aggregation_dimensions).
AGENT_MEMORY = "mem_used_percent"
AGENT_DISK = "disk_used_percent"


def rds_events_key_statement() -> Statement:
    """Alarm key policy statement: RDS event notifications reach the encrypted topic."""
    return Statement(
        Sid="RdsEventsPublishEncrypted",
        Effect=Allow,
        Principal=Principal("Service", RDS_EVENTS),
        Action=[kms.Decrypt, kms.GenerateDataKey],
        Resource=["*"],
        Condition=Condition(StringEquals("aws:SourceAccount", Ref("AWS::AccountId"))),
    )


def rds_events_topic_statement() -> Statement:
    """Topic policy statement: this account's RDS event subscriptions publish to the topic."""
    return Statement(
        Sid="RdsEventsPublish",
        Effect=Allow,
        Principal=Principal("Service", RDS_EVENTS),
        Action=[sns.Publish],
        Resource=[Ref("AlarmTopic")],
        Condition=Condition(
            [
                StringEquals("aws:SourceAccount", Ref("AWS::AccountId")),
                ArnLike(
                    "aws:SourceArn",
                    Sub("arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:es:*"),
                ),
            ]
        ),
    )


def add_parameters(template: Template) -> None:
    """How many readers exist (the database stack's parameter, passed by the root to both)."""
    add_reader_count(template)
    add_reader_conditions(template)
    set_parameter_groups(template, [*parameter_groups(template), ("Database", ["DbReaderCount"])])


def add_event_subscriptions(template: Template) -> None:
    """RDS events of the cluster and its instances go to the alarm topic.

    Readers that Aurora Auto Scaling adds are not in the instance subscription (their names are
    not known to the stack); the cluster's subscription still reports their failovers.
    """
    template.add_resource(
        EventSubscription(
            "DbClusterEvents",
            SnsTopicArn=Ref("AlarmTopic"),
            SourceType="db-cluster",
            SourceIds=[Ref("DbClusterId")],
            EventCategories=list(CLUSTER_EVENTS),
            Enabled=True,
        )
    )
    template.add_resource(
        EventSubscription(
            "DbInstanceEvents",
            SnsTopicArn=Ref("AlarmTopic"),
            SourceType="db-instance",
            SourceIds=Split(",", Ref("DbInstanceIds")),
            EventCategories=list(INSTANCE_EVENTS),
            Enabled=True,
        )
    )


def alarm(name: str, description: str, **properties: object) -> Alarm:
    """An alarm that notifies the alarm topic when it fires and when it clears: 3 of 5
    one-minute periods by default, no data counting as fine."""
    defaults = {
        "Period": 60,
        "EvaluationPeriods": 5,
        "DatapointsToAlarm": 3,
        "TreatMissingData": "notBreaching",
    }
    return Alarm(
        name,
        AlarmDescription=description,
        AlarmActions=[Ref("AlarmTopic")],
        OKActions=[Ref("AlarmTopic")],
        **{**defaults, **properties},
    )


def _alarm(title: str, description: str, first: str, dimensions: dict, **properties) -> Alarm:
    return alarm(
        title,
        f"{description}. First look at: {first}",
        Dimensions=[MetricDimension(Name=k, Value=v) for k, v in dimensions.items()],
        **properties,
    )


def add_alarms(template: Template, params) -> None:
    """The alarms besides the monitoring stack's original ones (``params``: MonitoringParams)."""
    template.add_resource(
        _alarm(
            "NoHealthyHostsAlarm",
            "No instance passes the load balancer's health check: the site is down",
            "the Auto Scaling group's activity (instances launched and terminated) and the "
            "gunicorn log group's <instance>-bootstrap streams",
            {
                "TargetGroup": Ref("TargetGroupFullName"),
                "LoadBalancer": Ref("LoadBalancerFullName"),
            },
            Namespace=ALB,
            MetricName="HealthyHostCount",
            Statistic="Minimum",
            ComparisonOperator="LessThanThreshold",
            Threshold=1,
            EvaluationPeriods=2,
            DatapointsToAlarm=2,
            # An empty target group reports nothing at all: that is the outage, not its end.
            TreatMissingData="breaching",
        )
    )
    template.add_resource(
        _alarm(
            "ReaderCpuAlarm",
            f"An Aurora reader's CPU is above {params.reader_cpu_percent:g}%",
            "Performance Insights' top SQL on the reader, and whether reader auto scaling is at "
            "its maximum",
            {"DBClusterIdentifier": Ref("DbClusterId"), "Role": "READER"},
            Namespace=RDS,
            MetricName="CPUUtilization",
            Statistic="Maximum",
            ComparisonOperator="GreaterThanThreshold",
            Threshold=params.reader_cpu_percent,
        )
    )
    for index in range(MAX_READERS + 1):
        role = "writer" if index == 0 else f"reader {index}"
        alarm = _alarm(
            "DbLocalStorageAlarm" + ("Writer" if index == 0 else f"Reader{index}"),
            f"Free local storage of the Aurora {role} is below {params.free_local_storage_mib} "
            "MiB (temporary tables, sorts, logs)",
            "the slow-query log group for large sorts or temporary tables, and the instance "
            "class (local storage grows with it)",
            {"DBInstanceIdentifier": Select(index, Split(",", Ref("DbInstanceIds")))},
            Namespace=RDS,
            MetricName="FreeLocalStorage",
            Statistic="Minimum",
            ComparisonOperator="LessThanThreshold",
            Threshold=params.free_local_storage_mib * 1024 * 1024,
        )
        if index:
            alarm.Condition = reader_condition(index)
        template.add_resource(alarm)
    for title, metric, threshold, what, first in (
        (
            "InstanceMemoryAlarm",
            AGENT_MEMORY,
            params.instance_memory_percent,
            "memory",
            "gunicorn's workers and threads (employees_site/gunicorn.conf.py) against the "
            "instance type, and the gunicorn log group for workers killed by the OOM killer",
        ),
        (
            "InstanceDiskAlarm",
            AGENT_DISK,
            params.instance_disk_percent,
            "root disk",
            "old releases under /opt/employees-site/releases and the logs that logrotate keeps",
        ),
    ):
        template.add_resource(
            _alarm(
                title,
                f"An instance's {what} is more than {threshold:g}% used (CloudWatch agent)",
                first,
                {"AutoScalingGroupName": Ref("AutoScalingGroupName")},
                Namespace=AGENT,
                MetricName=metric,
                Statistic="Maximum",
                ComparisonOperator="GreaterThanThreshold",
                Threshold=threshold,
            )
        )


def widgets(y: int) -> list[dict]:
    """Dashboard widgets (as Fn::Sub text) of these alarms' metrics, from row ``y`` down."""
    group = ["AutoScalingGroupName", "${AutoScalingGroupName}"]
    cluster = ["DBClusterIdentifier", "${DbClusterId}"]
    rows = [
        (
            "Healthy instances (minimum)",
            [
                [
                    ALB,
                    "HealthyHostCount",
                    "TargetGroup",
                    "${TargetGroupFullName}",
                    "LoadBalancer",
                    "${LoadBalancerFullName}",
                ]
            ],
            "Minimum",
        ),
        (
            "Reader CPU, maximum (%)",
            [[RDS, "CPUUtilization", *cluster, "Role", "READER"]],
            "Maximum",
        ),
        (
            "DB free local storage, minimum (bytes)",
            [
                [RDS, "FreeLocalStorage", *cluster, "Role", "WRITER"],
                [RDS, "FreeLocalStorage", *cluster, "Role", "READER"],
            ],
            "Minimum",
        ),
        (
            "Instance memory and disk used, maximum (%)",
            [[AGENT, AGENT_MEMORY, *group], [AGENT, AGENT_DISK, *group]],
            "Maximum",
        ),
    ]
    return [
        metric_widget(title, metrics, 12 * (number % 2), y + 6 * (number // 2), stat)
        for number, (title, metrics, stat) in enumerate(rows)
    ]


def metric_widget(title: str, metrics: list, x: int, y: int, stat: str = "Sum") -> dict:
    """A dashboard graph, half the dashboard wide, of metrics at one-minute periods."""
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "region": "${AWS::Region}",
            "stat": stat,
            "period": 60,
            "view": "timeSeries",
            "metrics": metrics,
        },
    }
