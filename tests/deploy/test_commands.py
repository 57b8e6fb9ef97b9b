"""`outputs`, `status`, `events`, `down`, `console-bundle` and pre-flight errors, over HTTP."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import tarfile
from pathlib import Path

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from deploy import cli

from .conftest import REGION, count_puts

PROJECT = Path(__file__).resolve().parents[2]
OUTPUTS_TEMPLATE = {
    "Parameters": {"Colour": {"Type": "String", "Default": "blue"}},
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {"Colour": {"Value": {"Ref": "Colour"}}, "TopicArn": {"Value": {"Ref": "Topic"}}},
}


def test_outputs_prints_a_table_and_json(run, clients, name):
    """`outputs` prints the root's outputs; with --json, only a JSON object."""
    clients.cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(OUTPUTS_TEMPLATE))
    table = run("outputs", "--stack-name", name)
    assert table.code == 0
    assert "  Colour    blue" in table.out
    as_json = run("outputs", "--stack-name", name, "--json")
    values = json.loads(as_json.out)
    assert values["Colour"] == "blue"
    assert values["TopicArn"].startswith("arn:aws:sns:")


def test_up_json_prints_only_the_outputs_on_stdout(up, clients, name):
    """`up --json` keeps stdout to the outputs' JSON (progress goes to stderr)."""
    assert up("--json").code == 0
    result = up("--json")
    assert json.loads(result.out) == {}  # the local API keeps no outputs for change sets
    assert f"Stack {name} is up to date" in result.err


def test_status_and_events_of_a_deployed_stack(up, run, name):
    """`status` lists the nested stack; `events` merges root and nested events."""
    assert up().code == 0
    status = run("status", "--stack-name", name)
    assert status.code == 0
    assert f"{name}: CREATE_COMPLETE" in status.out
    assert f"  {name}/NetworkStack: CREATE_COMPLETE" in status.out
    events = run("events", "--stack-name", name)
    assert events.code == 0
    assert f"CREATE_COMPLETE              {name}/NetworkStack  " in events.out
    assert "Root cause" not in events.out


def test_commands_on_a_missing_stack_say_so(run):
    """`status` of a stack that does not exist names it and the Region."""
    result = run("status", "--stack-name", "no-such-stack")
    assert result.code == 1
    assert "Error: No stack no-such-stack in us-east-1." in result.out


def test_down_deletes_and_says_what_is_kept(up, run, clients, name):
    """`down --yes` deletes root and nested stacks and names the retained resource."""
    assert up().code == 0
    stack_id = clients.cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackId"]
    result = run("down", "--stack-name", name, "--yes")
    assert result.code == 0, result.out
    assert f"{name}/ArtifactLocation (AWS::SSM::Parameter): it is retained" in result.out
    assert f"Stack {name}: DELETE_COMPLETE" in result.out
    stack = clients.cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]
    assert stack["StackStatus"] == "DELETE_COMPLETE"
    assert run("down", "--stack-name", name, "--yes").out.startswith(f"No stack {name}")


def test_down_without_yes_and_without_a_terminal_deletes_nothing(up, run, clients, name):
    """`down` with no terminal to confirm on refuses; the stack is untouched."""
    assert up().code == 0
    result = run("down", "--stack-name", name)
    assert result.code == 1
    assert "run again with --yes" in result.out
    stack = clients.cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"


def test_console_bundle_prints_the_values_to_paste(run, clients, bucket, templates, artifact_zip):
    """`console-bundle` uploads everything and prints the TemplateURL and parameters."""
    args = ["console-bundle", "--bucket", bucket, "--templates", str(templates)]
    result = run(*args, "--artifact", str(artifact_zip), "--json")
    assert result.code == 0, result.out
    bundle = json.loads(result.out)  # stdout holds the JSON only
    parameters = bundle["Parameters"]
    assert parameters["TemplatesBucket"] == bucket == parameters["ArtifactBucket"]
    assert bundle["Artifact"] == f"s3://{bucket}/{parameters['ArtifactKey']}"
    clients.s3.head_object(Bucket=bucket, Key=parameters["ArtifactKey"])
    clients.s3.head_object(Bucket=bucket, Key=parameters["TemplatesPrefix"] + "network.yaml")
    assert bundle["TemplateURL"].endswith(".yaml")
    text = run(*args, "--artifact-key", parameters["ArtifactKey"])
    assert f"  TemplatesPrefix: {parameters['TemplatesPrefix']}" in text.out


def test_missing_bucket_is_named_with_the_fix(up, clients, name):
    """A bucket that does not exist stops `up` with a pointer to --create-bucket."""
    clients.s3.delete_bucket(Bucket=name)
    result = up()
    assert result.code == 1
    assert f"Bucket {name} does not exist" in result.out
    assert "--create-bucket" in result.out


def test_create_bucket_makes_it_private_encrypted_and_versioned(up, clients, name):
    """`--create-bucket` creates the bucket with encryption, versioning and no public access."""
    clients.s3.delete_bucket(Bucket=name)
    result = up("--create-bucket")
    assert result.code == 0, result.out
    assert f"Created bucket {name}" in result.out
    assert clients.s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    rules = clients.s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]
    assert rules["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = clients.s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert all(block.values())


def test_bucket_in_another_region_is_refused(up, clients, name):
    """A bucket in another Region than the stack is named with both Regions."""
    clients.s3.delete_bucket(Bucket=name)
    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    result = up()
    assert result.code == 1
    assert f"Bucket {name} is in eu-west-1, but the stack is deployed to {REGION}" in result.out


def test_no_credentials_message(aws_server, monkeypatch, tmp_path, capsys):
    """Without any credentials, the CLI says how to provide them instead of a traceback."""
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code = cli.main(["status", "--stack-name", "any"])
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("Error: No AWS credentials found. Set AWS_PROFILE")


def test_no_region_message(aws_server, monkeypatch, tmp_path, capsys):
    """Without a Region anywhere, the CLI asks for --region."""
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    assert cli.main(["outputs", "--stack-name", "any"]) == 1
    assert "No AWS Region set. Pass --region" in capsys.readouterr().out


def test_debug_re_raises(run, monkeypatch):
    """Under --debug an error propagates with its traceback instead of being summarised."""
    with pytest.raises(Exception, match="No stack no-such-stack"):
        run("status", "--stack-name", "no-such-stack", "--debug")


@pytest.mark.skipif(
    not (PROJECT / "templates_out" / "root.yaml").is_file(), reason="templates_out not built"
)
def test_up_with_the_real_templates_ends_in_a_clear_message(run, bucket, name):
    """`up` of templates_out/ against the local API (no Aurora there) ends without a traceback."""
    result = run(
        "up", "--stack-name", name, "--bucket", bucket, "--templates",
        str(PROJECT / "templates_out"), "--project-dir", str(PROJECT), "--skip-checks", "--yes",
    )  # fmt: skip
    assert "Packaged to" in result.out
    # The local API cannot create Aurora nor read nested stacks' outputs: a stack failure,
    # reported as one (the CLI's own summary for an unexpected exception would say so).
    assert result.code == 1
    assert f"Creation of stack {name} failed" in result.out, result.out
    assert "unexpected" not in result.out.lower()


def test_bad_template_file_is_reported(run, tmp_path, bucket):
    """A root template that is not YAML is named instead of crashing the parser."""
    (tmp_path / "root.yaml").write_text("Resources: [unclosed\n")
    result = run("up", "--stack-name", "x", "--bucket", bucket, "--templates", str(tmp_path),
                 "--skip-checks", "--yes")  # fmt: skip
    assert result.code == 1
    assert "root.yaml: not a YAML or JSON template" in result.out


@pytest.mark.skipif(not (PROJECT / ".git").exists(), reason="needs the git checkout")
def test_stale_templates_stop_up_before_any_upload(run, clients, bucket, templates, tmp_path):
    """When `python -m infra build --check` fails, `up` prints its findings and uploads nothing.

    The project dir is the committed infra/ and templates_out/ with one template edited by hand;
    `python -m infra` run there is that copy, so the real check finds it stale.
    """
    project = tmp_path / "project"
    project.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(PROJECT), "archive", "HEAD", "infra", "templates_out"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(project, filter="data")
    with (project / "templates_out" / "root.yaml").open("a") as stream:
        stream.write("# edited by hand\n")
    puts = count_puts(clients.s3)
    result = run(
        "up", "--stack-name", "x", "--bucket", bucket, "--templates", str(templates),
        "--project-dir", str(project), "--yes",
    )  # fmt: skip
    assert result.code == 1
    assert "Pre-flight check failed: `python -m infra build --check` exited" in result.out
    assert "root.yaml" in result.out
    assert "Rebuild them with `python -m infra build`" in result.out
    assert puts == []


def _subcommands(parser):
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sub.choices


def test_every_option_has_help_and_every_help_has_examples(capsys):
    """`--help` of the tool and of each command shows examples, and every option says what it
    does."""
    parser = cli.build_parser()
    missing = [
        f"{name} {'/'.join(action.option_strings) or action.dest}"
        for name, command in _subcommands(parser).items()
        for action in command._actions
        if not action.help
    ]
    assert missing == []
    for argv in ([], *([name] for name in _subcommands(parser))):
        with pytest.raises(SystemExit):
            cli.build_parser().parse_args([*argv, "--help"])
        assert "example" in capsys.readouterr().out, argv


def test_parameters_file_in_the_cloudformation_cli_format(up, clients, name, tmp_path):
    """`--parameters-file` takes the CLI's JSON list; --param given too wins over it."""
    path = tmp_path / "params.json"
    path.write_text(json.dumps([{"ParameterKey": "VpcCidr", "ParameterValue": "10.0.0.0/20"}]))

    def vpc_cidr() -> str:
        stack = clients.cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}["VpcCidr"]

    assert up("--parameters-file", str(path)).code == 0
    assert vpc_cidr() == "10.0.0.0/20"
    result = up("--parameters-file", str(path), "--param", "VpcCidr=10.0.0.0/19")
    assert result.code == 0, result.out
    assert vpc_cidr() == "10.0.0.0/19"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON: Expecting property name enclosed in double quotes at line 1"),
        ('{"VpcCidr": "10.0.0.0/16"}', "Expected the CloudFormation CLI's format"),
        ('[{"ParameterValue": "x"}]', "entry 1: no ParameterKey"),
        ('[{"ParameterKey": "VpcCidr", "ParameterValue": 16}]', "must be a string"),
        ('[{"ParameterKey": "Colour", "ParameterValue": "blue"}]', "has no such parameter"),
    ],
)
def test_a_bad_parameters_file_is_named_before_anything_is_uploaded(
    up, clients, tmp_path, content, message
):
    """A parameters file that is not the CLI's format says what is wrong; nothing is uploaded."""
    path = tmp_path / "params.json"
    path.write_text(content)
    puts = count_puts(clients.s3)
    result = up("--parameters-file", str(path))
    assert result.code == 1
    assert message in result.out
    assert "Traceback" not in result.out and puts == []


def test_enable_termination_protection_on_create(up, clients, name):
    """`--enable-termination-protection` turns it on once `up` has created the stack (the local
    API has no termination protection: that one call is answered here)."""
    calls: list[dict] = []
    events = clients.cloudformation.meta.events
    operation = "cloudformation.UpdateTerminationProtection"
    events.register(f"provide-client-params.{operation}", lambda params, **_: calls.append(params))
    answered = (AWSResponse(None, 200, {}, None), {"StackId": "id"})
    events.register(f"before-call.{operation}", lambda **_: answered)
    result = up("--enable-termination-protection")
    assert result.code == 0, result.out
    assert f"Termination protection turned on for {name}." in result.out
    assert len(calls) == 1 and calls[0]["EnableTerminationProtection"] is True
    assert calls[0]["StackName"].startswith("arn:aws:cloudformation:")
