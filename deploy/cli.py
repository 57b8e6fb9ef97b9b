"""``python -m deploy``: the edge. It makes the clients, runs one command, and catches errors.

Errors are caught once, in ``main``: a DeployError or an AWS error is printed with what to do
next and the exit status is 1; ``--debug`` re-raises it with its traceback instead. The commands
live in ``deploy/commands/`` (one module each), the options in ``deploy/parser.py``.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Sequence

import boto3
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)
from botocore.parsers import ResponseParserError

from .console import Console
from .context import Clients, Context, Interrupted
from .exceptions import DeployError, NoCredentials, NoRegion
from .parser import build_parser
from .retry import DENIED_CODES, Retrying

__all__ = ["Clients", "Console", "build_parser", "main"]


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
    "down": "A deletion already started goes on in CloudFormation; follow it with `python -m "
    "deploy events --stack-name STACK --follow`. Protections `down` turned off stay off until "
    "it is run again or they are turned back on.",
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
