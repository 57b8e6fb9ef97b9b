"""``python -m deploy``: the command layer. It parses, prints and asks; the work is elsewhere.

Errors are caught once, in ``main``: a DeployError or an AWS error is printed with what to do
next and the exit status is 1; ``--debug`` re-raises it with its traceback instead.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)
from botocore.parsers import ResponseParserError

from . import artifact, changesets, instances, preflight, teardown, templates
from .deployer import ON_FAILURE, ChangeSet, Deployer, parameters
from .events import Event, Progress, describe_cause, operation_before_last, root_cause
from .exceptions import (
    BadParameter,
    ConfirmationRequired,
    DeployError,
    NoCredentials,
    NoRegion,
    StackNotFound,
    TemplatesMissing,
    TerminationProtected,
)
from .packaging import Packager, TemplateSet
from .retry import DENIED_CODES, Retrying

logger = logging.getLogger(__name__)

# Root parameters that deploy fills in (see DESIGN.md); a user may not set them by hand.
FILLED_IN = ("TemplatesBucket", "TemplatesPrefix", "ArtifactBucket", "ArtifactKey")


@dataclass
class Clients:
    """The boto3 clients the commands use; tests pass their own."""

    region: str
    cloudformation: Any
    s3: Any
    sts: Any
    rds: Any
    autoscaling: Any
    ssm: Any
    application_autoscaling: Any

    @classmethod
    def from_session(cls, session: boto3.Session) -> Clients:
        if not session.region_name:
            raise NoRegion()
        # botocore's own "standard" retries first; Retrying adds longer jittered waits on top.
        config = Config(retries={"mode": "standard", "max_attempts": 5})
        services = ("cloudformation", "s3", "sts", "rds", "autoscaling", "ssm")
        made = {name: session.client(name, config=config) for name in services}
        made["application_autoscaling"] = session.client("application-autoscaling", config=config)
        return cls(region=session.region_name, **made)


class Console:
    """User-facing output: event lines, and on a terminal a progress line kept at the bottom."""

    def __init__(self, stream: TextIO, progress: Progress | None = None, out: TextIO | None = None):
        self.stream = stream
        self.out = out or stream
        self.tty = stream.isatty()
        self.progress = progress or Progress()
        self._status_shown = False

    def print(self, text: str = "") -> None:
        self._clear_status()
        print(text, file=self.stream, flush=True)

    def result(self, text: str) -> None:
        """What the command produces (outputs, JSON): stdout even when the rest goes to stderr."""
        self._clear_status()
        print(text, file=self.out, flush=True)

    def events(self, events: list[Event]) -> None:
        self.progress.add(events)
        for event in events:
            self.print(event.line())
        if self.tty and events:
            self.stream.write(self.progress.line())
            self.stream.flush()
            self._status_shown = True

    def _clear_status(self) -> None:
        if self._status_shown:
            self.stream.write("\r\x1b[K")
            self._status_shown = False


@dataclass
class Context:
    args: argparse.Namespace
    clients: Clients
    console: Console
    retry: Retrying
    sleep: Callable[[float], None]
    confirm: Callable[[str], bool] | None  # None: no one to ask (no terminal)

    def operator(self) -> instances.Operator:
        return instances.Operator(
            self.clients.autoscaling,
            self.clients.ssm,
            retry=self.retry,
            poll_interval=self.args.poll_interval,
            sleep=self.sleep,
        )

    def deployer(self) -> Deployer:
        return Deployer(
            self.clients.cloudformation,
            retry=self.retry,
            poll_interval=self.args.poll_interval,
            sleep=self.sleep,
        )


# -- commands ----------------------------------------------------------------------------------


def cmd_up(ctx: Context) -> int:
    args, console, clients = ctx.args, ctx.console, ctx.clients
    root_path = args.templates / args.root_template
    declared = _declared(root_path)
    given = _given_parameters(args.param, declared)
    if not args.skip_checks:
        lint = "" if args.skip_lint else " and python -m infra lint"
        console.print(f"Checking templates: python -m infra build --check{lint}")
        preflight.infra_checks(args.project_dir, lint=not args.skip_lint)
    identity = preflight.caller_identity(clients.sts, ctx.retry)
    console.print(f"Account {identity.get('Account')} in {clients.region}, stack {args.stack_name}")
    if preflight.ensure_bucket(
        clients.s3, args.bucket, clients.region, ctx.retry, create=args.create_bucket
    ):
        console.print(f"Created bucket {args.bucket} (encrypted, versioned, public access blocked)")

    packager = Packager(clients.s3, args.bucket, clients.region, args.key_prefix, ctx.retry)
    template_set, key = _package(ctx, packager, with_artifact="ArtifactKey" in declared)
    values = _filled_in(args.bucket, template_set, key, declared)
    deployer = ctx.deployer()
    change_set_type, existing = deployer.change_set_type(args.stack_name)
    # A first `up` makes a REVIEW_IN_PROGRESS stack with its change set; if the change set is
    # never executed, that empty stack is deleted too (as rain does), not left for the operator.
    pending = _Pending(deployer, made_stack=existing is None)
    try:
        console.print(f"Creating the change set for {args.stack_name} ({change_set_type})")
        change_set = deployer.create_change_set(
            args.stack_name,
            template_set.root_url,
            parameters(declared, {**given, **values}, existing),
            change_set_type,
            tags=dict(_pairs(args.tag, "--tag")),
            on_failure=args.on_failure,
            role_arn=args.role_arn,
        )
        pending.change_set = change_set
        tree = deployer.wait_for_change_set(change_set) if change_set else None
        if change_set is None or tree is None:
            pending.change_set = None  # an empty change set was deleted by the wait
            console.print(f"Stack {args.stack_name} is up to date: no changes to deploy.")
            stack = deployer.stack(args.stack_name)
            return _print_outputs(ctx, deployer, stack)
        console.print(f"Change set {change_set.name or change_set.id} ({change_set_type}):")
        for line in changesets.preview(tree):
            console.print("  " + line if line else "")
        if args.no_execute:
            console.print(
                f"Not executed (--no-execute). Review change set {change_set.name} in the "
                "console, then execute it there or run `up` again with --yes."
            )
            return 0
        if not args.yes:
            what = " (the preview shows data at risk)" if tree.dangerous else ""
            if ctx.confirm is None:
                pending.discard()
                raise ConfirmationRequired(what=what)
            if not ctx.confirm(f"Execute this change set on {args.stack_name}{what}? [y/N] "):
                console.print(f"Cancelled; {pending.discard()}.")
                return 1
    except KeyboardInterrupt:
        raise Interrupted(pending.discard_after_interrupt()) from None
    console.progress.expected = tree.resource_changes
    outcome = deployer.execute(change_set, console.events)
    console.print(f"Stack {args.stack_name}: {outcome.status}")
    return _print_outputs(ctx, deployer, outcome.stack)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, with what the command left behind (printed at the edge)."""

    def __init__(self, left: str):
        super().__init__(left)
        self.left = left


class _Pending:
    """The change set `up` made and, for a first `up`, the empty stack made with it: what must
    go when the change set is not executed."""

    def __init__(self, deployer: Deployer, *, made_stack: bool):
        self.deployer = deployer
        self.made_stack = made_stack
        self.change_set: ChangeSet | None = None

    def discard(self) -> str:
        """Delete what was made; say what was deleted."""
        change_set = self.change_set
        if change_set is None:
            return "nothing was created"
        self.change_set = None
        if self.made_stack:
            # Deleting the REVIEW_IN_PROGRESS stack deletes its change sets with it.
            self.deployer.delete_stack(change_set.stack_id)
            return (
                f"change set {change_set.name} and the empty stack {change_set.stack_name} "
                "it made were deleted"
            )
        self.deployer.delete_change_set(change_set)
        return f"change set {change_set.name} was deleted"

    def discard_after_interrupt(self) -> str:
        made = self.change_set
        if made is None:
            return (
                "No change set was left (a change set being created when interrupted stays in "
                "`aws cloudformation list-change-sets`). Uploaded files stay in the bucket, "
                "where the next run reuses them."
            )
        try:
            said = self.discard()
        except (ClientError, BotoCoreError, KeyboardInterrupt):
            if self.made_stack:
                return (
                    f"Left behind: the empty stack {made.stack_name} (REVIEW_IN_PROGRESS) with "
                    f"change set {made.name}. Delete both with `python -m deploy down "
                    f"--stack-name {made.stack_name}`."
                )
            return (
                f"Left behind: change set {made.name} on {made.stack_name}. Delete it with "
                f"`aws cloudformation delete-change-set --change-set-name {made.id}`."
            )
        return said[0].upper() + said[1:] + "."


def _package(
    ctx: Context, packager: Packager, *, with_artifact: bool
) -> tuple[TemplateSet, str | None]:
    """Upload the templates and (if asked) the app artifact; return where they are."""
    args, console = ctx.args, ctx.console
    key = None
    if with_artifact:
        if args.artifact:
            key = packager.artifact(artifact.read(args.artifact))
        elif args.artifact_key:
            if not packager.exists(args.artifact_key):
                raise BadParameter(
                    name="--artifact-key",
                    problem=f"no object s3://{args.bucket}/{args.artifact_key}. Pick one under "
                    f"{args.key_prefix}artifacts/ (earlier deploys uploaded them there).",
                )
            key = args.artifact_key
        else:
            console.print(f"Building the app artifact from {args.project_dir.resolve()}")
            key = packager.artifact(artifact.build(args.project_dir))
    template_set = packager.templates(args.templates, args.root_template)
    console.print(
        f"Packaged to s3://{args.bucket}/: {len(packager.uploaded)} uploaded, "
        f"{len(packager.skipped)} already there"
    )
    for uploaded in packager.uploaded:
        logger.info("uploaded s3://%s/%s", args.bucket, uploaded)
    return template_set, key


def _filled_in(
    bucket: str, template_set: TemplateSet, artifact_key: str | None, declared: dict[str, Any]
) -> dict[str, str]:
    """The root parameters deploy fills in, for those the root template declares."""
    values = {"TemplatesBucket": bucket, "TemplatesPrefix": template_set.prefix}
    if artifact_key:
        values |= {"ArtifactBucket": bucket, "ArtifactKey": artifact_key}
    return {name: value for name, value in values.items() if name in declared}


def cmd_console_bundle(ctx: Context) -> int:
    args, console, clients = ctx.args, ctx.console, ctx.clients
    declared = _declared(args.templates / args.root_template)
    preflight.caller_identity(clients.sts, ctx.retry)
    preflight.ensure_bucket(
        clients.s3, args.bucket, clients.region, ctx.retry, create=args.create_bucket
    )
    packager = Packager(clients.s3, args.bucket, clients.region, args.key_prefix, ctx.retry)
    # The artifact is uploaded even if this root does not take it yet: instances need it.
    template_set, key = _package(ctx, packager, with_artifact=True)
    bundle = {
        "TemplateURL": template_set.root_url,
        "Parameters": _filled_in(args.bucket, template_set, key, declared),
        "Artifact": f"s3://{args.bucket}/{key}",
    }
    if args.json:
        console.result(json.dumps(bundle, indent=2, sort_keys=True))
        return 0
    console.result(f"In the CloudFormation console ({clients.region}): Create stack > With new")
    console.result("resources > Template is ready > Amazon S3 URL:")
    console.result(f"  {bundle['TemplateURL']}")
    console.result("Then, on the parameters page (the others are yours to choose):")
    for name, value in sorted(bundle["Parameters"].items()):
        console.result(f"  {name}: {value}")
    console.result(f"App artifact: {bundle['Artifact']}")
    return 0


def cmd_status(ctx: Context) -> int:
    deployer = ctx.deployer()
    stack = _existing(ctx, deployer)
    console = ctx.console
    reason = f" ({stack['StackStatusReason']})" if stack.get("StackStatusReason") else ""
    nested = _nested_statuses(ctx, stack)
    if ctx.args.json:
        summary = {
            "StackName": stack["StackName"],
            "StackId": stack["StackId"],
            "StackStatus": stack["StackStatus"],
            "NestedStacks": nested,
        }
        console.result(json.dumps(summary, indent=2, sort_keys=True))
        return 0
    console.result(f"{stack['StackName']}: {stack['StackStatus']}{reason}")
    for path, status in nested.items():
        console.result(f"  {path}: {status}")
    return 0


def _nested_statuses(ctx: Context, stack: dict[str, Any]) -> dict[str, str]:
    found = teardown.resources(
        ctx.clients.cloudformation, stack["StackId"], stack["StackName"], ctx.retry
    )
    return {
        f"{r.stack_path}/{r.logical_id}": _status_of(ctx, r.physical_id)
        for r in found
        if r.type == "AWS::CloudFormation::Stack" and r.physical_id
    }


def _status_of(ctx: Context, stack_id: str) -> str:
    stack = ctx.deployer().stack(stack_id)
    return stack["StackStatus"] if stack else "DELETE_COMPLETE"


def cmd_events(ctx: Context) -> int:
    args, console = ctx.args, ctx.console
    deployer = ctx.deployer()
    stack = _existing(ctx, deployer)
    watcher = deployer.history(stack["StackId"], stack["StackName"], everything=args.all)
    console.events(watcher.events)
    status = stack["StackStatus"]
    while args.follow and status.endswith("_IN_PROGRESS"):
        ctx.sleep(args.poll_interval)
        console.events(watcher.poll())
        current = deployer.stack(stack["StackId"])
        status = current["StackStatus"] if current else "DELETE_COMPLETE"
    if args.follow:
        console.events(watcher.sweep())
    cause = root_cause(watcher.events)
    if cause is None and status == "DELETE_COMPLETE" and not args.all:
        # The deletion went fine; what made the operator delete it is in the operation before.
        everything = deployer.history(stack["StackId"], stack["StackName"], everything=True)
        cause = root_cause(operation_before_last(everything.events))
    console.print(f"{stack['StackName']}: {status}")
    if cause is not None:
        console.print(describe_cause(cause))
    # A failed or rolled-back last operation exits 1, so a script that follows it sees the failure.
    return 1 if status.endswith("_FAILED") or "ROLLBACK" in status else 0


def cmd_outputs(ctx: Context) -> int:
    deployer = ctx.deployer()
    return _print_outputs(ctx, deployer, _existing(ctx, deployer))


def cmd_down(ctx: Context) -> int:
    args, console, clients = ctx.args, ctx.console, ctx.clients
    deployer = ctx.deployer()
    stack = deployer.stack(args.stack_name)
    if stack is None:
        console.print(f"No stack {args.stack_name} in {clients.region}: nothing to delete.")
        return 0
    plan = teardown.plan(clients.cloudformation, clients.rds, stack, ctx.retry)
    if plan.protected_stack and not args.disable_protection:
        raise TerminationProtected(what=f"Stack {args.stack_name} (termination protection)")
    if plan.protected_clusters and not args.disable_protection:
        raise TerminationProtected(what="DB cluster " + ", ".join(plan.protected_clusters))
    console.print(f"Deleting stack {args.stack_name} ({stack['StackStatus']}) in {clients.region}.")
    for cluster, readers in plan.extra_readers.items():
        added = ", ".join(readers)
        console.print(f"Readers added by auto scaling to {cluster}, deleted first: {added}")
    if plan.kept:
        console.print("Kept after deletion:")
        for line in plan.kept:
            console.print(f"  {line}")
    else:
        console.print("Nothing is kept: no resource has a Retain or Snapshot DeletionPolicy.")
    if not args.yes:
        if ctx.confirm is None:
            raise ConfirmationRequired(what="")
        if not ctx.confirm(f"Delete stack {args.stack_name}? [y/N] "):
            console.print("Cancelled; nothing was deleted.")
            return 1
    if plan.protected_stack:
        ctx.retry(
            clients.cloudformation.update_termination_protection,
            StackName=stack["StackId"],
            EnableTerminationProtection=False,
        )
        console.print("Termination protection turned off.")
    teardown.set_cluster_protection(clients.rds, plan.protected_clusters, ctx.retry, on=False)
    teardown.stop_reader_scaling(clients.application_autoscaling, plan.extra_readers, ctx.retry)
    teardown.remove_readers(
        clients.rds, plan.extra_readers, ctx.retry, ctx.sleep, args.poll_interval
    )
    try:
        outcome = deployer.delete(stack, console.events)
    except (DeployError, ClientError, BotoCoreError):
        # What outlives the failed delete must not stay unprotected because of `down`.
        if plan.protected_stack:
            _protect(ctx, stack["StackId"])
            console.print("Termination protection turned back on (the stack was not deleted).")
        if plan.protected_clusters:
            teardown.set_cluster_protection(
                clients.rds, plan.protected_clusters, ctx.retry, on=True
            )
            console.print("Deletion protection turned back on for the DB clusters that remain.")
        raise
    console.print(f"Stack {args.stack_name}: {outcome.status}")
    return 0


def _protect(ctx: Context, stack_id: str) -> None:
    ctx.retry(
        ctx.clients.cloudformation.update_termination_protection,
        StackName=stack_id,
        EnableTerminationProtection=True,
    )


def cmd_manage(ctx: Context) -> int:
    args, console = ctx.args, ctx.console
    stack = _existing(ctx, ctx.deployer())
    operator = ctx.operator()
    group = operator.group_name(ctx.clients.cloudformation, stack)
    instance = operator.pick(group, args.stack_name, args.instance_id)
    console.print(f"On {instance} ({group}): {operator.manage_command(args.args)}")
    result = operator.run(instance, args.args, args.timeout)
    if result.stdout:
        console.result(result.stdout.rstrip("\n"))
    if result.stderr:
        print(result.stderr.rstrip("\n"), file=sys.stderr, flush=True)
    if max(len(result.stdout), len(result.stderr)) >= instances.OUTPUT_LIMIT:
        console.print(
            f"(Run Command keeps the first {instances.OUTPUT_LIMIT} characters of each stream; "
            "the rest was cut.)"
        )
    details = f", {result.details}" if result.details not in ("", result.status) else ""
    console.print(f"Exit code {result.code} ({result.status}{details}; {result.command_id})")
    # The remote exit code when there is one; 1 when the command never ran.
    return result.code if 0 <= result.code <= 255 else 1


def cmd_refresh(ctx: Context) -> int:
    args, console = ctx.args, ctx.console
    stack = _existing(ctx, ctx.deployer())
    operator = ctx.operator()
    group = operator.group_name(ctx.clients.cloudformation, stack)
    preferences = {
        name: value
        for name, value in (
            ("MinHealthyPercentage", args.min_healthy_percentage),
            ("InstanceWarmup", args.instance_warmup),
        )
        if value is not None
    }
    count = len(operator.in_service(group))
    console.print(
        f"Instance refresh of {group} ({count} in service): each instance is replaced by a new "
        "one from the launch template (the latest AMI), "
        + (
            f"keeping {preferences['MinHealthyPercentage']}% healthy."
            if "MinHealthyPercentage" in preferences
            else "as the group's instance maintenance policy allows."
        )
    )
    if not args.yes:
        if ctx.confirm is None:
            raise ConfirmationRequired(what="")
        if not ctx.confirm(f"Replace the instances of {group}? [y/N] "):
            console.print("Cancelled; nothing was started.")
            return 1
    refresh_id = operator.start_refresh(group, preferences)
    console.print(f"Started instance refresh {refresh_id}.")

    def show(refresh: dict[str, Any]) -> None:
        done = refresh.get("PercentageComplete")
        left = refresh.get("InstancesToUpdate")
        line = f"  {refresh['Status']}"
        if done is not None:
            line += f" {done}%"
        if left is not None:
            line += f", {left} to replace"
        if refresh.get("StatusReason"):
            line += f": {refresh['StatusReason']}"
        console.print(line)

    operator.follow_refresh(group, refresh_id, show)
    console.print(f"Instance refresh {refresh_id} of {group}: Successful")
    return 0


# -- helpers -----------------------------------------------------------------------------------


def _declared(root_path: Path) -> dict[str, Any]:
    if not root_path.is_file():
        raise TemplatesMissing(path=root_path)
    try:
        return templates.parameters(templates.load(root_path.read_text(encoding="utf-8")))
    except ValueError as error:
        raise BadParameter(name=str(root_path), problem=str(error)) from error


def _existing(ctx: Context, deployer: Deployer) -> dict[str, Any]:
    stack = deployer.stack(ctx.args.stack_name)
    if stack is None:
        raise StackNotFound(stack=ctx.args.stack_name, region=ctx.clients.region)
    return stack


def _print_outputs(ctx: Context, deployer: Deployer, stack: dict[str, Any] | None) -> int:
    outputs = deployer.outputs(stack or {})
    if ctx.args.json:
        ctx.console.result(json.dumps(outputs, indent=2, sort_keys=True))
    elif outputs:
        width = max(len(name) for name in outputs)
        ctx.console.result("Outputs:")
        for name, value in sorted(outputs.items()):
            ctx.console.result(f"  {name:<{width}}  {value}")
    else:
        ctx.console.result("The stack has no outputs.")
    return 0


def _pairs(items: Sequence[str], flag: str) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise BadParameter(name=item, problem=f"{flag} takes KEY=VALUE")
        pairs.append((name, value))
    return pairs


def _given_parameters(items: Sequence[str], declared: dict[str, Any]) -> dict[str, str]:
    given = dict(_pairs(items, "--param"))
    for name in given:
        if name in FILLED_IN:
            raise BadParameter(name=name, problem="deploy fills it in; do not pass it.")
        if name not in declared:
            known = ", ".join(sorted(n for n in declared if n not in FILLED_IN)) or "none"
            raise BadParameter(
                name=name, problem=f"the root template has no such parameter (it takes: {known})."
            )
    return given


# -- parser and edge ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m deploy", description="Deploy the employees platform's nested stacks."
    )
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument("--region", help="AWS Region (default: AWS_REGION or the profile's)")
    connection.add_argument("--profile", help="AWS named profile")
    connection.add_argument("--debug", action="store_true", help="verbose logs; errors re-raised")
    connection.add_argument("--poll-interval", type=float, default=5.0, help=argparse.SUPPRESS)
    common = argparse.ArgumentParser(add_help=False, parents=[connection])
    common.add_argument("--stack-name", required=True, help="name of the root stack")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    packaging = argparse.ArgumentParser(add_help=False)
    packaging.add_argument("--bucket", required=True, help="S3 bucket for templates, artifacts")
    packaging.add_argument("--create-bucket", action="store_true", help="create it if missing")
    packaging.add_argument("--templates", type=Path, default=Path("templates_out"))
    packaging.add_argument("--root-template", default="root.yaml")
    packaging.add_argument("--project-dir", type=Path, default=Path("."))
    packaging.add_argument("--key-prefix", default="employees-platform/")
    choice = packaging.add_mutually_exclusive_group()
    choice.add_argument(
        "--artifact", type=Path, help="upload this artifact zip (built once, e.g. by CI)"
    )
    choice.add_argument(
        "--artifact-key", help="deploy this already uploaded artifact (a rollback) instead"
    )
    packaging.add_argument("--json", action="store_true", help="print JSON")

    up = sub.add_parser("up", parents=[common, packaging], help="package, preview, deploy")
    up.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    up.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE")
    up.add_argument("--no-execute", action="store_true", help="stop after the preview")
    up.add_argument("--yes", action="store_true", help="execute without asking")
    up.add_argument("--skip-checks", action="store_true", help="skip infra build --check, lint")
    up.add_argument("--skip-lint", action="store_true", help="skip infra lint only")
    up.add_argument(
        "--on-failure",
        choices=sorted(ON_FAILURE),
        default="do-nothing",
        help="what a failed first create does: do-nothing (default) keeps the CREATE_FAILED "
        "stack and what was created, so the next `up` updates it; rollback deletes what was "
        "created and leaves a ROLLBACK_COMPLETE stack; delete deletes the stack too",
    )
    up.add_argument(
        "--role-arn",
        help="IAM role CloudFormation assumes for this and every later operation on the stack",
    )
    up.set_defaults(handler=cmd_up)

    bundle = sub.add_parser(
        "console-bundle", parents=[connection, packaging], help="upload; print console values"
    )
    bundle.set_defaults(handler=cmd_console_bundle)

    status = sub.add_parser("status", parents=[common], help="stack and nested stack statuses")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=cmd_status)
    events = sub.add_parser("events", parents=[common], help="merged events and the root cause")
    events.add_argument("--follow", action="store_true", help="until the operation ends")
    events.add_argument("--all", action="store_true", help="whole history, not the last operation")
    events.set_defaults(handler=cmd_events)
    outputs = sub.add_parser("outputs", parents=[common], help="the root stack's outputs")
    outputs.add_argument("--json", action="store_true")
    outputs.set_defaults(handler=cmd_outputs)
    down = sub.add_parser("down", parents=[common], help="delete the stack")
    down.add_argument("--yes", action="store_true", help="delete without asking")
    down.add_argument(
        "--disable-protection",
        action="store_true",
        help="turn off stack termination and DB cluster deletion protection first",
    )
    down.set_defaults(handler=cmd_down)

    manage = sub.add_parser(
        "manage",
        parents=[common],
        help="run a management command on one instance (Run Command)",
        description="Run `manage.py ARGS` on one instance of the stack through Session Manager "
        "Run Command; prints its output and exits with its exit code. Example: "
        "python -m deploy manage --stack-name S -- migrate --plan",
    )
    manage.add_argument("--instance-id", help="default: the first InService, healthy instance")
    manage.add_argument(
        "--timeout", type=int, default=600, help="seconds the command may run (default 600)"
    )
    manage.add_argument("args", nargs="+", metavar="ARG", help="after --: the command and its args")
    manage.set_defaults(handler=cmd_manage)
    refresh = sub.add_parser(
        "refresh",
        parents=[common],
        help="replace the instances (new AMI) and follow the instance refresh",
    )
    refresh.add_argument(
        "--min-healthy-percentage",
        type=int,
        choices=range(0, 101),
        metavar="0-100",
        help="default: the group's instance maintenance policy",
    )
    refresh.add_argument(
        "--instance-warmup", type=int, help="seconds a new instance warms up (default: group's)"
    )
    refresh.add_argument("--yes", action="store_true", help="start without asking")
    refresh.set_defaults(handler=cmd_refresh)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    clients: Clients | None = None,
    sleep: Callable[[float], None] = time.sleep,
    confirm: Callable[[str], bool] | None = None,
) -> int:
    """Run one command; ``clients``, ``sleep`` and ``confirm`` (the yes/no question) are
    injected by tests, and made here from the environment and the terminal otherwise."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # With --json, stdout carries the JSON only; progress and messages go to stderr.
    console = Console(sys.stderr, out=sys.stdout) if getattr(args, "json", False) else None
    console = console or Console(sys.stdout)
    try:
        if clients is None:
            # AWS_REGION is what the AWS SDKs and this project document; boto3's Session reads
            # only AWS_DEFAULT_REGION and the profile, which remain the fallbacks.
            region = args.region or os.environ.get("AWS_REGION") or None
            session = boto3.Session(region_name=region, profile_name=args.profile)
            clients = Clients.from_session(session)
        ctx = Context(
            args=args,
            clients=clients,
            console=console,
            retry=Retrying(sleep=sleep),
            sleep=sleep,
            confirm=confirm or (_ask if console.tty and sys.stdin.isatty() else None),
        )
        return args.handler(ctx)
    except Exception as error:
        if args.debug:
            raise
        console.print(f"Error: {_explain(error)}")
        return 1
    except KeyboardInterrupt as interrupt:
        left = interrupt.left if isinstance(interrupt, Interrupted) else None
        goes_on = _GOES_ON.get(args.command, _GOES_ON["up"])
        stack = getattr(args, "stack_name", "STACK")
        console.print("Interrupted. " + (left or goes_on.replace("STACK", stack)))
        return 130


# What an interrupt leaves running, by command.
_GOES_ON = {
    "up": "The stack operation goes on in CloudFormation; follow it with `python -m deploy "
    "events --stack-name STACK --follow`.",
    "manage": "The command goes on on the instance; `aws ssm list-commands` shows it.",
    "refresh": "The instance refresh goes on; stop it with `aws autoscaling "
    "cancel-instance-refresh --auto-scaling-group-name GROUP`.",
}


def _explain(error: Exception) -> str:
    """The message for an error caught at the edge: ours as they are, AWS ones mapped."""
    if isinstance(error, DeployError):
        return str(error)
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return str(NoCredentials())
    if isinstance(error, NoRegionError):
        return str(NoRegion())
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        operation = getattr(error, "operation_name", "the call")
        if code in ("ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId"):
            return f"The AWS credentials were refused ({code}): refresh them and run again."
        if code in DENIED_CODES:
            return f"Access denied on {operation}: {message}. Use a role allowed to do this."
        return f"AWS refused {operation} ({code}): {message}. Rerun with --debug for details."
    if isinstance(error, ResponseParserError):
        return (
            "The AWS endpoint answered with something that is not an AWS response (an HTTP "
            "error page?). Check AWS_ENDPOINT_URL and the Region; rerun with --debug."
        )
    if isinstance(error, BotoCoreError):
        return f"{error}. Check the network, the Region and the endpoint; rerun with --debug."
    return f"unexpected {type(error).__name__}: {error}. Rerun with --debug for the traceback."


def _ask(question: str) -> bool:
    try:
        return input(question).strip().lower() in ("y", "yes")
    except EOFError:
        return False
