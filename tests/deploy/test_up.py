"""`up` against the local AWS API over HTTP: change sets, empty change sets, failures."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

from botocore.exceptions import ClientError

from .conftest import FIXTURES, count_puts

PROJECT = Path(__file__).resolve().parents[2]


def test_up_creates_the_stack_through_a_change_set(up, clients, name):
    """A first `up` previews a CREATE change set, executes it and follows the nested stack."""
    result = up()
    assert result.code == 0, result.out
    assert "(CREATE):" in result.out
    assert "+ Add     NetworkStack (AWS::CloudFormation::Stack)" in result.out
    assert f"CREATE_COMPLETE              {name}/NetworkStack  " in result.out
    assert f"Stack {name}: CREATE_COMPLETE" in result.out
    stack = clients.cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    values = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert values["TemplatesPrefix"].startswith("employees-platform/templates/")
    assert values["ArtifactKey"].startswith("employees-platform/artifacts/tinyapp-")


def test_rerun_with_nothing_changed_is_up_to_date_and_uploads_nothing(up, clients, name):
    """A second `up` with the same inputs uploads nothing and reports "up to date" (exit 0)."""
    assert up().code == 0
    puts = count_puts(clients.s3)
    result = up()
    assert result.code == 0, result.out
    assert puts == []
    assert "0 uploaded, 3 already there" in result.out
    assert f"Stack {name} is up to date: no changes to deploy." in result.out
    events = clients.cloudformation.describe_stack_events(StackName=name)["StackEvents"]
    assert not [e for e in events if e["ResourceStatus"].startswith("UPDATE")]


def test_changed_child_template_updates_the_stack(up, clients, name, templates):
    """A changed child gets a new templates prefix, and an UPDATE change set applies it."""
    assert up().code == 0
    network = templates / "network.yaml"
    network.write_text(network.read_text().replace("10.0.0.0/24", "10.0.16.0/24"))
    puts = count_puts(clients.s3)
    result = up()
    assert result.code == 0, result.out
    assert "(UPDATE):" in result.out
    assert f"Stack {name}: UPDATE_COMPLETE" in result.out
    assert len(puts) == 2 and puts[0].endswith("/network.yaml")  # the child and the root only
    nested = clients.cloudformation.describe_stack_resource(
        StackName=name, LogicalResourceId="NetworkStack"
    )["StackResourceDetail"]["PhysicalResourceId"]
    subnets = clients.cloudformation.describe_stack_resource(
        StackName=nested, LogicalResourceId="PublicSubnet"
    )["StackResourceDetail"]["PhysicalResourceId"]
    assert subnets.startswith("subnet-")


def test_param_change_is_deployed_and_kept_on_the_next_run(up, clients, name):
    """`--param` sets a value; a later run without it keeps the previous value."""
    assert up("--param", "VpcCidr=10.0.0.0/20").code == 0
    result = up()
    assert result.code == 0, result.out
    assert "up to date" in result.out
    stack = clients.cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    values = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert values["VpcCidr"] == "10.0.0.0/20"


def test_stack_in_review_counts_as_no_stack(up, clients, name, bucket):
    """A stack left in REVIEW_IN_PROGRESS by an unexecuted change set is created, not updated."""
    clients.cloudformation.create_change_set(
        StackName=name,
        ChangeSetName="left-behind",
        ChangeSetType="CREATE",
        TemplateBody=json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}),
    )
    result = up()
    assert result.code == 0, result.out
    assert "(CREATE):" in result.out
    assert f"Stack {name}: CREATE_COMPLETE" in result.out


def test_no_execute_leaves_the_change_set_for_review(up, clients, name):
    """`--no-execute` stops after the preview; the stack stays in review with its change set."""
    result = up("--no-execute")
    assert result.code == 0, result.out
    assert "Not executed (--no-execute)" in result.out
    stack = clients.cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "REVIEW_IN_PROGRESS"


def stack_is_gone(clients, name) -> bool:
    try:
        clients.cloudformation.describe_stacks(StackName=name)
    except ClientError as error:
        return "does not exist" in str(error)
    return False


def test_without_yes_and_without_a_terminal_nothing_is_executed(up, clients, name):
    """Without --yes and with no terminal to ask on, `up` refuses, says to pass --yes, and
    deletes the empty stack its first change set made."""
    result = up("--no-yes")
    assert result.code == 1
    assert "run again with --yes" in result.out
    assert stack_is_gone(clients, name)


def test_ctrl_c_at_the_question_deletes_the_empty_stack_and_says_so(up, clients, name):
    """Ctrl-C before a first change set runs deletes it with the REVIEW_IN_PROGRESS stack it made,
    and the message names both."""

    def interrupt(question):
        raise KeyboardInterrupt

    result = up("--no-yes", confirm=interrupt)
    assert result.code == 130
    assert "Interrupted. Change set deploy-" in result.out
    assert f"and the empty stack {name} it made were deleted." in result.out
    assert stack_is_gone(clients, name)


def test_ctrl_c_before_an_update_runs_deletes_only_the_change_set(up, clients, name, templates):
    """On an existing stack, Ctrl-C at the question deletes the change set; the stack stays."""
    assert up().code == 0
    network = templates / "network.yaml"
    network.write_text(network.read_text().replace("10.0.0.0/24", "10.0.16.0/24"))

    def interrupt(question):
        raise KeyboardInterrupt

    result = up("--no-yes", confirm=interrupt)
    assert result.code == 130
    assert "was deleted." in result.out and "empty stack" not in result.out
    stack = clients.cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"


def test_failure_in_a_nested_stack_prints_the_cause(up, tmp_path, name):
    """A child whose subnet names a missing VPC fails; the cause is printed, not a traceback."""
    broken = shutil.copytree(FIXTURES / "broken", tmp_path / "broken")
    result = up(template_dir=broken)
    assert result.code == 1
    assert f"Creation of stack {name} failed" in result.out
    assert "vpc-0000000000000000f" in result.out
    assert "Traceback" not in result.out


def test_unknown_parameter_is_refused_before_anything_is_uploaded(up, clients):
    """A --param the root template does not declare is named, with the ones it does take."""
    puts = count_puts(clients.s3)
    result = up("--param", "Colour=blue")
    assert result.code == 1
    assert "Parameter Colour: the root template has no such parameter (it takes: VpcCidr)" in (
        result.out
    )
    assert puts == []


def test_answering_no_deletes_the_change_set(up, clients, name):
    """Asked to confirm, a "no" on a first `up` deletes the change set and the empty stack it
    made, and executes nothing (exit 1)."""
    questions: list[str] = []
    result = up("--no-yes", confirm=lambda q: questions.append(q) or False)
    assert result.code == 1
    assert f"and the empty stack {name} it made were deleted." in result.out
    assert questions == [f"Execute this change set on {name}? [y/N] "]
    assert stack_is_gone(clients, name)


def test_answering_yes_executes(up, clients, name):
    """Asked to confirm, a "yes" executes the change set."""
    result = up("--no-yes", confirm=lambda question: True)
    assert result.code == 0, result.out
    assert f"Stack {name}: CREATE_COMPLETE" in result.out


def test_up_on_a_terminal_shows_live_progress(bucket, name, templates, artifact_zip, clients):
    """`python -m deploy up` under a pseudo-terminal shows the change-set wait and the stack
    operation as live displays (spinner, elapsed time, the in-progress table), then the result."""
    leader, follower = os.openpty()
    argv = [
        sys.executable, "-m", "deploy", "up", "--stack-name", name, "--bucket", bucket,
        "--templates", str(templates), "--artifact", str(artifact_zip), "--skip-checks",
        "--yes", "--region", "us-east-1", "--poll-interval", "0.2",
    ]  # fmt: skip
    process = subprocess.Popen(
        argv, stdin=follower, stdout=follower, stderr=follower, cwd=PROJECT, close_fds=True
    )
    os.close(follower)
    output = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the process ended
                break
            if not chunk:
                break
            output += chunk
        elif process.poll() is not None:
            break
    process.wait(timeout=10)
    os.close(leader)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-3000:]
    assert "creating change set deploy-" in text
    assert f"create of {name} (0m0" in text
    assert "in progress" in text and "elapsed" in text  # the live table's header
    assert "resources done]" in text
    assert "\x1b[" in text  # drawn with terminal control sequences, not plain lines
    assert f"Stack {name}: CREATE_COMPLETE" in text
