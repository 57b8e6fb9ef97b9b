"""`manage` (Run Command) and `refresh` (instance refresh) against the local AWS API.

The stack and its Auto Scaling group are real on the local API, and so are SendCommand and
GetCommandInvocation (which the local API answers at once with Success and no output). Stubber
serves what it cannot produce: a command still running, a failing command with its output, an
unmanaged instance, and every instance-refresh call (the local API has none).
"""

from __future__ import annotations

import dataclasses
import json
import shlex

import boto3
import pytest
from botocore.stub import Stubber

from deploy import cli

from .conftest import REGION, Result

MANAGE = "/usr/local/bin/employees-site-manage"
COMMAND_ID = "0b1e2a3c-4d5e-6f70-8192-a3b4c5d6e7f8"
GROUP_TEMPLATE = {
    "Resources": {
        "LaunchTemplate": {
            "Type": "AWS::EC2::LaunchTemplate",
            "Properties": {
                "LaunchTemplateData": {"ImageId": "ami-12c6146b", "InstanceType": "t3.small"}
            },
        },
        "AutoScalingGroup": {
            "Type": "AWS::AutoScaling::AutoScalingGroup",
            "Properties": {
                "AvailabilityZones": [f"{REGION}a"],
                "LaunchTemplate": {
                    "LaunchTemplateId": {"Ref": "LaunchTemplate"},
                    "Version": {"Fn::GetAtt": ["LaunchTemplate", "LatestVersionNumber"]},
                },
                "MinSize": "2",
                "MaxSize": "4",
                "DesiredCapacity": "2",
            },
        },
    }
}
NO_GROUP_TEMPLATE = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}


@pytest.fixture
def call(capsys, clients):
    """``python -m deploy ARGV`` in-process, with no waiting between polls; ``--poll-interval``
    goes before the ``--`` that ends the options (the conftest runner appends it at the end)."""

    def call(*argv: str, with_clients: cli.Clients | None = None, confirm=None) -> Result:
        capsys.readouterr()
        split = argv.index("--") if "--" in argv else len(argv)
        code = cli.main(
            [*argv[:split], "--poll-interval", "0", *argv[split:]],
            clients=with_clients or clients,
            sleep=lambda seconds: None,
            confirm=confirm,
        )
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return call


@pytest.fixture
def group(clients, name) -> str:
    """A stack with a launch template and a group of two instances; returns the group's name."""
    clients.cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(GROUP_TEMPLATE))
    resource = clients.cloudformation.describe_stack_resource(
        StackName=name, LogicalResourceId="AutoScalingGroup"
    )
    return resource["StackResourceDetail"]["PhysicalResourceId"]


def _in_service(clients, group) -> list[str]:
    described = clients.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])
    return sorted(i["InstanceId"] for i in described["AutoScalingGroups"][0]["Instances"])


def test_manage_runs_the_wrapper_on_the_first_instance_through_run_command(
    call, clients, name, group
):
    """`manage -- ARGS` sends the quoted wrapper command to one InService instance."""
    instances = _in_service(clients, group)
    assert len(instances) == 2
    requests: list[dict] = []
    clients.ssm.meta.events.register(
        "provide-client-params.ssm.SendCommand", lambda params, **_: requests.append(params)
    )
    result = call("manage", "--stack-name", name, "--", "shell", "-c", "print('a b')")
    assert result.code == 0, result.out
    command = shlex.join([MANAGE, "shell", "-c", "print('a b')"])
    assert f"On {instances[0]} ({group}): {command}" in result.out
    assert "Exit code 0 (Success; " in result.out
    [sent] = [
        c
        for c in clients.ssm.list_commands(InstanceId=instances[0])["Commands"]
        if c["Parameters"]["commands"] == [command]
    ]
    assert sent["DocumentName"] == "AWS-RunShellScript"
    assert sent["Parameters"]["executionTimeout"] == ["600"]
    # The local API lists every instance of the Region as a target when a command has no
    # Targets; what was asked for is one instance.
    assert [request["InstanceIds"] for request in requests] == [[instances[0]]]


def test_manage_on_a_chosen_instance_and_a_wrong_one(call, clients, name, group):
    """--instance-id picks the instance; one outside the group is refused, naming the others."""
    second = _in_service(clients, group)[1]
    chosen = call("manage", "--stack-name", name, "--instance-id", second, "--", "migrate")
    assert chosen.code == 0 and f"On {second} ({group})" in chosen.out
    wrong = call("manage", "--stack-name", name, "--instance-id", "i-0123456789", "--", "check")
    assert wrong.code == 1
    assert f"Error: Instance i-0123456789 is not an InService, healthy instance of {group}" in (
        wrong.out
    )
    assert second in wrong.out


def test_manage_on_a_stack_without_a_group_says_so(call, clients, name):
    """A stack with no Auto Scaling group: the error names the stack and how to look at it."""
    clients.cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(NO_GROUP_TEMPLATE))
    result = call("manage", "--stack-name", name, "--", "check")
    assert result.code == 1
    assert f"Error: Stack {name} has no Auto Scaling group." in result.out


@pytest.fixture
def stubbed_ssm(clients):
    ssm = boto3.client("ssm", region_name=REGION)
    stubber = Stubber(ssm)
    stubber.activate()
    yield stubber, dataclasses.replace(clients, ssm=ssm)
    stubber.assert_no_pending_responses()


def test_manage_waits_and_returns_the_commands_exit_code_and_output(
    call, stubbed_ssm, clients, name, group
):
    """A command still running is polled until it ends; its output and exit code come back."""
    stubber, with_ssm = stubbed_ssm
    instance = _in_service(clients, group)[0]
    command = shlex.join([MANAGE, "migrate", "--check"])
    stubber.add_response(
        "send_command",
        {"Command": {"CommandId": COMMAND_ID}},
        {
            "InstanceIds": [instance],
            "DocumentName": "AWS-RunShellScript",
            "Comment": "python -m deploy manage",
            "Parameters": {"commands": [command], "executionTimeout": ["600"]},
        },
    )
    stubber.add_client_error(
        "get_command_invocation", "InvocationDoesNotExist", http_status_code=400
    )
    key = {"CommandId": COMMAND_ID, "InstanceId": instance}
    stubber.add_response("get_command_invocation", {"Status": "InProgress"}, key)
    stubber.add_response(
        "get_command_invocation",
        {
            "Status": "Failed",
            "StatusDetails": "Failed",
            "ResponseCode": 1,
            "StandardOutputContent": "employees\n [ ] 0003_rename\n",
            "StandardErrorContent": "unapplied migrations\n",
        },
        key,
    )
    result = call("manage", "--stack-name", name, "--", "migrate", "--check", with_clients=with_ssm)
    assert result.code == 1
    assert "employees\n [ ] 0003_rename\n" in result.out
    assert "unapplied migrations" in result.err
    assert f"Exit code 1 (Failed; {COMMAND_ID})" in result.out


def test_manage_on_an_instance_without_the_ssm_agent_says_what_it_needs(
    call, stubbed_ssm, name, group
):
    """SendCommand's InvalidInstanceId becomes a message naming the agent and the role."""
    stubber, with_ssm = stubbed_ssm
    stubber.add_client_error("send_command", "InvalidInstanceId", "Instances not in a valid state")
    result = call("manage", "--stack-name", name, "--", "check", with_clients=with_ssm)
    assert result.code == 1
    assert "Run Command cannot reach i-" in result.out
    assert "AmazonSSMManagedInstanceCore" in result.out


@pytest.fixture
def stubbed_autoscaling(clients, group):
    """Instance refresh is not in the local API: the Auto Scaling client is stubbed; the group
    itself is found in the (real, local) stack."""
    autoscaling = boto3.client("autoscaling", region_name=REGION)
    stubber = Stubber(autoscaling)
    stubber.add_response(
        "describe_auto_scaling_groups",
        clients.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group]),
        {"AutoScalingGroupNames": [group]},
    )
    stubber.activate()
    yield stubber, dataclasses.replace(clients, autoscaling=autoscaling)
    stubber.assert_no_pending_responses()


def _refresh(status: str, percent: int | None = None, left: int | None = None, reason=None):
    refresh = {"InstanceRefreshId": "r-1", "AutoScalingGroupName": "g", "Status": status}
    if percent is not None:
        refresh |= {"PercentageComplete": percent, "InstancesToUpdate": left}
    if reason:
        refresh["StatusReason"] = reason
    return {"InstanceRefreshes": [refresh]}


def test_refresh_starts_and_follows_to_success(call, stubbed_autoscaling, name, group):
    """`refresh --yes` starts a rolling refresh with the given preferences and follows it."""
    stubber, with_stub = stubbed_autoscaling
    stubber.add_response(
        "start_instance_refresh",
        {"InstanceRefreshId": "r-1"},
        {
            "AutoScalingGroupName": group,
            "Strategy": "Rolling",
            "Preferences": {"MinHealthyPercentage": 90, "InstanceWarmup": 60},
        },
    )
    key = {"AutoScalingGroupName": group, "InstanceRefreshIds": ["r-1"]}
    for answer in (
        _refresh("Pending"),
        _refresh("InProgress", 0, 2),
        _refresh("InProgress", 0, 2),  # unchanged: not printed again
        _refresh("InProgress", 50, 1, "Waiting for instances to warm up"),
        _refresh("Successful", 100, 0),
    ):
        stubber.add_response("describe_instance_refreshes", answer, key)
    result = call(
        "refresh", "--stack-name", name, "--yes",
        "--min-healthy-percentage", "90", "--instance-warmup", "60",
        with_clients=with_stub,
    )  # fmt: skip
    assert result.code == 0, result.out
    lines = result.out.splitlines()
    assert f"Instance refresh of {group} (2 in service)" in lines[0]
    assert "keeping 90% healthy." in lines[0]
    assert lines[1:] == [
        "Started instance refresh r-1.",
        "  Pending",
        "  InProgress 0%, 2 to replace",
        "  InProgress 50%, 1 to replace: Waiting for instances to warm up",
        "  Successful 100%, 0 to replace",
        f"Instance refresh r-1 of {group}: Successful",
    ]


def test_refresh_that_rolls_back_exits_1_with_the_reason(call, stubbed_autoscaling, name, group):
    """A refresh that ends rolled back prints its reason and where to look next."""
    stubber, with_stub = stubbed_autoscaling
    stubber.add_response("start_instance_refresh", {"InstanceRefreshId": "r-1"})
    stubber.add_response("describe_instance_refreshes", _refresh("InProgress", 0, 2))
    stubber.add_response(
        "describe_instance_refreshes",
        _refresh("RollbackSuccessful", 0, 2, "An instance failed its health checks"),
    )
    result = call("refresh", "--stack-name", name, "--yes", with_clients=with_stub)
    assert result.code == 1
    assert "as the group's instance maintenance policy allows" in result.out
    assert (
        f"Error: Instance refresh r-1 of {group} ended RollbackSuccessful: An instance failed "
        "its health checks." in result.out
    )
    assert "describe-scaling-activities" in result.out


def test_refresh_while_another_runs_says_how_to_wait_or_cancel(
    call, stubbed_autoscaling, name, group
):
    """InstanceRefreshInProgress becomes a message with the commands to watch or cancel it."""
    stubber, with_stub = stubbed_autoscaling
    stubber.add_client_error("start_instance_refresh", "InstanceRefreshInProgress")
    result = call("refresh", "--stack-name", name, "--yes", with_clients=with_stub)
    assert result.code == 1
    assert f"An instance refresh is already running on {group}" in result.out
    assert "cancel-instance-refresh" in result.out


def test_refresh_without_yes_and_without_a_terminal_starts_nothing(call, stubbed_autoscaling, name):
    """No terminal to confirm on: refused, and no refresh is started."""
    _, with_stub = stubbed_autoscaling
    result = call("refresh", "--stack-name", name, with_clients=with_stub)
    assert result.code == 1
    assert "Not executing: no terminal to ask for confirmation" in result.out


def test_refresh_asks_and_a_no_starts_nothing(call, stubbed_autoscaling, name, group):
    """Answering no at the prompt starts nothing."""
    _, with_stub = stubbed_autoscaling
    questions = []
    result = call(
        "refresh", "--stack-name", name, with_clients=with_stub,
        confirm=lambda question: questions.append(question) or False,
    )  # fmt: skip
    assert result.code == 1
    assert questions == [f"Replace the instances of {group}? [y/N] "]
    assert "Cancelled; nothing was started." in result.out


def test_interrupted_refresh_says_it_goes_on_and_how_to_stop_it(capsys, stubbed_autoscaling, name):
    """Ctrl-C while following: exit 130, and the refresh is said to go on, with how to cancel."""
    stubber, with_stub = stubbed_autoscaling
    stubber.add_response("start_instance_refresh", {"InstanceRefreshId": "r-1"})
    stubber.add_response("describe_instance_refreshes", _refresh("InProgress", 0, 2))

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    code = cli.main(
        ["refresh", "--stack-name", name, "--yes", "--poll-interval", "0"],
        clients=with_stub,
        sleep=interrupt,
    )
    assert code == 130
    assert "Interrupted. The instance refresh goes on; stop it with" in capsys.readouterr().out
