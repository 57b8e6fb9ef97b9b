"""The optional schedule that rotates the application database user's password.

EventBridge Scheduler calls Run Command (``AWS-RunShellScript``) on the Auto Scaling group's
instances once a day; each runs ``manage.py rotate_app_password --if-older-than-days N`` through
the manage wrapper. Run Command reaches every instance, so the command decides under the migrate
lock whether a rotation is due (the secret's last change older than N days): one instance
rotates, the others find nothing to do. No Lambda. ``AppDbPasswordRotationDays`` 0 turns it off.
"""

from __future__ import annotations

import json

from awacs import ssm
from awacs.aws import Allow, Condition, PolicyDocument, Statement, StringEquals
from troposphere import Equals, GetAtt, Not, Ref, Sub, Template
from troposphere.iam import Policy, Role
from troposphere.scheduler import FlexibleTimeWindow, Schedule, Target

from .common import add_parameter, assumed_by, source_account

PARAMETER = "AppDbPasswordRotationDays"
CONDITION = "RotateAppDbPassword"
MANAGE = "/usr/local/bin/employees-site-manage"
DOCUMENT = "AWS-RunShellScript"


def add_app_password_rotation(template: Template) -> None:
    """The parameter, and (when it is not 0) the daily schedule and the role it runs as."""
    add_parameter(
        template,
        PARAMETER,
        label="App DB password rotation (days)",
        description=(
            "Rotate the application database user's password when it is older than this many "
            "days (a daily Run Command on the instances); 0 turns rotation off."
        ),
        constraint_description="must be from 0 (off) to 365",
        Type="Number",
        Default=0,
        MinValue=0,
        MaxValue=365,
    )
    template.add_condition(CONDITION, Not(Equals(Ref(PARAMETER), "0")))
    template.add_resource(_scheduler_role())
    command = f"{MANAGE} rotate_app_password --if-older-than-days ${{{PARAMETER}}}"
    template.add_resource(
        Schedule(
            "AppDbPasswordRotationSchedule",
            Condition=CONDITION,
            Description=Sub("Rotates the app DB user's password of ${AWS::StackName} when due"),
            ScheduleExpression="rate(1 day)",
            FlexibleTimeWindow=FlexibleTimeWindow(Mode="FLEXIBLE", MaximumWindowInMinutes=60),
            Target=Target(
                Arn=Sub("arn:${AWS::Partition}:scheduler:::aws-sdk:ssm:sendCommand"),
                RoleArn=GetAtt("AppDbPasswordRotationRole", "Arn"),
                Input=Sub(
                    json.dumps(
                        {
                            "DocumentName": DOCUMENT,
                            "Targets": [
                                {
                                    "Key": "tag:aws:autoscaling:groupName",
                                    "Values": ["${AutoScalingGroup}"],
                                }
                            ],
                            # One instance at a time: the first rotates, the rest find it done.
                            "MaxConcurrency": "1",
                            "TimeoutSeconds": 900,
                            "Comment": "rotate_app_password (when due)",
                            "Parameters": {"commands": [command]},
                        },
                        sort_keys=True,
                    )
                ),
            ),
        )
    )


def _scheduler_role() -> Role:
    return Role(
        "AppDbPasswordRotationRole",
        Condition=CONDITION,
        AssumeRolePolicyDocument=assumed_by("scheduler.amazonaws.com", source_account()),
        Policies=[
            Policy(
                PolicyName="send-rotation-command",
                PolicyDocument=PolicyDocument(
                    Version="2012-10-17",
                    Statement=[
                        Statement(
                            Sid="RunTheShellScriptDocument",
                            Effect=Allow,
                            Action=[ssm.SendCommand],
                            Resource=[
                                Sub(
                                    f"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}::document/{DOCUMENT}"
                                )
                            ],
                        ),
                        Statement(
                            # Only this group's instances (their aws:autoscaling:groupName tag).
                            Sid="OnThisGroupsInstances",
                            Effect=Allow,
                            Action=[ssm.SendCommand],
                            Resource=[
                                Sub(
                                    "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}"
                                    ":instance/*"
                                )
                            ],
                            Condition=Condition(
                                StringEquals(
                                    "ssm:resourceTag/aws:autoscaling:groupName",
                                    Ref("AutoScalingGroup"),
                                )
                            ),
                        ),
                    ],
                ),
            )
        ],
    )
