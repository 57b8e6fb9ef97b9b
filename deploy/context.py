"""What every command gets: the boto3 clients, the parsed arguments, the console, and the
helpers more than one command uses (the stack by name, the outputs table, KEY=VALUE pairs)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from . import instances, templates
from .console import Console
from .deployer import Deployer
from .exceptions import (
    BadParameter,
    ConfirmationRequired,
    NoRegion,
    StackNotFound,
    TemplatesMissing,
)
from .retry import Retrying

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


@dataclass
class Context:
    args: argparse.Namespace
    clients: Clients
    console: Console
    retry: Retrying
    sleep: Callable[[float], None]
    confirm: Callable[[str], bool] | None  # None: no one to ask (no terminal)

    def approved(self, question: str) -> bool:
        """--yes, or the operator's answer; ConfirmationRequired when there is no one to ask."""
        if self.args.yes:
            return True
        if self.confirm is None:
            raise ConfirmationRequired(what="")
        return self.confirm(question)

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


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, with what the command left behind (printed at the edge)."""

    def __init__(self, left: str):
        super().__init__(left)
        self.left = left


def declared_parameters(root_path: Path) -> dict[str, Any]:
    if not root_path.is_file():
        raise TemplatesMissing(path=root_path)
    try:
        return templates.parameters(templates.load(root_path.read_text(encoding="utf-8")))
    except ValueError as error:
        raise BadParameter(name=str(root_path), problem=str(error)) from error


def existing_stack(ctx: Context, deployer: Deployer) -> dict[str, Any]:
    stack = deployer.stack(ctx.args.stack_name)
    if stack is None:
        raise StackNotFound(stack=ctx.args.stack_name, region=ctx.clients.region)
    return stack


def print_outputs(ctx: Context, deployer: Deployer, stack: dict[str, Any] | None) -> int:
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


def pairs(items: Sequence[str], flag: str) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise BadParameter(name=item, problem=f"{flag} takes KEY=VALUE")
        pairs.append((name, value))
    return pairs


def parameters_file(path: Path) -> dict[str, str]:
    """Parameters in the CloudFormation CLI's JSON format: ``[{"ParameterKey": "K",
    "ParameterValue": "V"}, ...]``; an entry with ``"UsePreviousValue": true`` keeps the
    stack's value, as any parameter not given does."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise BadParameter(name=str(path), problem=f"cannot read it: {error.strerror}.") from error
    except json.JSONDecodeError as error:
        raise BadParameter(
            name=str(path), problem=f"not JSON: {error.msg} at line {error.lineno}."
        ) from error
    if not isinstance(entries, list):
        raise BadParameter(name=str(path), problem=_PARAMETERS_FORMAT)
    values: dict[str, str] = {}
    for number, entry in enumerate(entries, 1):
        key = entry.get("ParameterKey") if isinstance(entry, dict) else None
        if not isinstance(key, str) or not key:
            raise BadParameter(
                name=f"{path}, entry {number}", problem=f"no ParameterKey. {_PARAMETERS_FORMAT}"
            )
        if entry.get("UsePreviousValue") is True:
            continue
        value = entry.get("ParameterValue")
        if not isinstance(value, str):
            raise BadParameter(
                name=f"{path}, {key}",
                problem="ParameterValue must be a string (quote numbers, join lists with commas).",
            )
        values[key] = value
    return values


_PARAMETERS_FORMAT = (
    'Expected the CloudFormation CLI\'s format: a JSON list of {"ParameterKey": "Name", '
    '"ParameterValue": "value"} objects.'
)


def given_parameters(
    items: Sequence[str], declared: dict[str, Any], from_file: Path | None = None
) -> dict[str, str]:
    """The parameters given (the file first, then --param, which wins), each one declared."""
    given = parameters_file(from_file) if from_file else {}
    given |= dict(pairs(items, "--param"))
    for name in given:
        if name in FILLED_IN:
            raise BadParameter(name=name, problem="deploy fills it in; do not pass it.")
        if name not in declared:
            known = ", ".join(sorted(n for n in declared if n not in FILLED_IN)) or "none"
            raise BadParameter(
                name=name, problem=f"the root template has no such parameter (it takes: {known})."
            )
    return given
