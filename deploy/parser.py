"""The command line: every command and option with its help, and examples in each --help."""

from __future__ import annotations

import argparse
from pathlib import Path

from .commands import console_bundle, down, events, manage, outputs, refresh, status, up
from .deployer import ON_FAILURE

EXAMPLES = {
    None: """examples:
  python -m deploy up --stack-name staging --bucket my-deploy-bucket --create-bucket
  python -m deploy events --stack-name staging --follow
  python -m deploy outputs --stack-name staging --json
  python -m deploy down --stack-name staging""",
    "up": """examples:
  # first deploy: create the bucket, preview, confirm, follow
  python -m deploy up --stack-name staging --bucket my-deploy-bucket --create-bucket
  # preview only, leaving the change set for review in the console
  python -m deploy up --stack-name staging --bucket my-deploy-bucket --no-execute
  # parameters from a file in the CloudFormation CLI's JSON format, in CI
  python -m deploy up --stack-name prod --bucket my-deploy-bucket \\
      --parameters-file prod-params.json --enable-termination-protection --yes
  # roll the app back to an artifact uploaded before
  python -m deploy up --stack-name prod --bucket my-deploy-bucket \\
      --artifact-key employees-platform/artifacts/employees_platform-<sha256>.zip""",
    "console-bundle": """example:
  python -m deploy console-bundle --bucket my-deploy-bucket --region eu-west-1""",
    "status": """example:
  python -m deploy status --stack-name staging --json""",
    "events": """examples:
  python -m deploy events --stack-name staging            # last operation and its root cause
  python -m deploy events --stack-name staging --follow   # until the running operation ends
  python -m deploy events --stack-name arn:aws:cloudformation:...:stack/staging/...  # deleted""",
    "outputs": """example:
  python -m deploy outputs --stack-name staging --json | jq -r .SiteUrl""",
    "down": """examples:
  python -m deploy down --stack-name staging
  python -m deploy down --stack-name prod --disable-protection   # protected stack and cluster""",
    "manage": """examples:
  python -m deploy manage --stack-name staging -- migrate --plan
  python -m deploy manage --stack-name staging --instance-id i-0123 -- createsuperuser --noinput""",
    "refresh": """example:
  python -m deploy refresh --stack-name staging --min-healthy-percentage 100""",
}


def _command(sub, name: str, handler, help_text: str, **kwargs) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        name,
        help=help_text,
        description=kwargs.pop("description", help_text[0].upper() + help_text[1:] + "."),
        epilog=EXAMPLES[name],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        **kwargs,
    )
    parser.set_defaults(handler=handler)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m deploy",
        description="Deploy the employees platform's nested stacks.",
        epilog=EXAMPLES[None],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument("--region", help="AWS Region (default: AWS_REGION or the profile's)")
    connection.add_argument("--profile", help="AWS named profile (default: AWS_PROFILE)")
    connection.add_argument(
        "--debug", action="store_true", help="verbose logs; errors re-raised with the traceback"
    )
    connection.add_argument("--poll-interval", type=float, default=5.0, help=argparse.SUPPRESS)
    common = argparse.ArgumentParser(add_help=False, parents=[connection])
    common.add_argument("--stack-name", required=True, help="name (or stack ID) of the root stack")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    packaging = argparse.ArgumentParser(add_help=False)
    packaging.add_argument(
        "--bucket", required=True, help="S3 bucket for the templates and app artifacts"
    )
    packaging.add_argument(
        "--create-bucket",
        action="store_true",
        help="create the bucket if missing (encrypted, versioned, public access blocked)",
    )
    packaging.add_argument(
        "--templates",
        type=Path,
        default=Path("templates_out"),
        help="directory of the compiled templates (default: templates_out)",
    )
    packaging.add_argument(
        "--root-template", default="root.yaml", help="root template in it (default: root.yaml)"
    )
    packaging.add_argument(
        "--project-dir",
        type=Path,
        default=Path("."),
        help="project to build the app artifact from (default: the current directory)",
    )
    packaging.add_argument(
        "--key-prefix",
        default="employees-platform/",
        help="S3 key prefix for everything uploaded (default: employees-platform/)",
    )
    choice = packaging.add_mutually_exclusive_group()
    choice.add_argument(
        "--artifact", type=Path, help="upload this artifact zip (built once, e.g. by CI)"
    )
    choice.add_argument(
        "--artifact-key", help="deploy this already uploaded artifact (a rollback) instead"
    )
    packaging.add_argument(
        "--json", action="store_true", help="print JSON on stdout (messages go to stderr)"
    )

    cmd = _command(
        sub, "up", up.run, "package, preview the change set, deploy", parents=[common, packaging]
    )
    cmd.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a root parameter (repeatable; one not given keeps its previous value)",
    )
    cmd.add_argument(
        "--parameters-file",
        type=Path,
        help="root parameters as the CloudFormation CLI takes them: a JSON list of "
        '{"ParameterKey": ..., "ParameterValue": ...} (or "UsePreviousValue": true); '
        "--param wins over it",
    )
    cmd.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a stack tag, propagated to its resources (repeatable)",
    )
    cmd.add_argument(
        "--no-execute", action="store_true", help="stop after the preview; keep the change set"
    )
    cmd.add_argument("--yes", action="store_true", help="execute without asking")
    cmd.add_argument(
        "--skip-checks",
        action="store_true",
        help="skip `python -m infra build --check` and `python -m infra lint`",
    )
    cmd.add_argument("--skip-lint", action="store_true", help="skip `python -m infra lint` only")
    cmd.add_argument(
        "--on-failure",
        choices=sorted(ON_FAILURE),
        default="do-nothing",
        help="what a failed first create does: do-nothing (default) keeps the CREATE_FAILED "
        "stack and what was created, so the next `up` updates it; rollback deletes what was "
        "created and leaves a ROLLBACK_COMPLETE stack; delete deletes the stack too",
    )
    cmd.add_argument(
        "--role-arn",
        help="IAM role CloudFormation assumes for this and every later operation on the stack",
    )
    cmd.add_argument(
        "--enable-termination-protection",
        action="store_true",
        help="when this `up` creates the stack, turn on its termination protection",
    )

    _command(
        sub,
        "console-bundle",
        console_bundle.run,
        "upload templates and artifact; print what to enter in the console",
        parents=[connection, packaging],
    )

    cmd = _command(
        sub, "status", status.run, "the root stack's status and its nested stacks'",
        parents=[common],
    )  # fmt: skip
    cmd.add_argument("--json", action="store_true", help="print JSON")

    cmd = _command(
        sub, "events", events.run, "merged events of root and nested stacks, and the root cause",
        parents=[common],
    )  # fmt: skip
    cmd.add_argument("--follow", action="store_true", help="keep following until it ends")
    cmd.add_argument("--all", action="store_true", help="whole history, not the last operation")

    cmd = _command(sub, "outputs", outputs.run, "the root stack's outputs", parents=[common])
    cmd.add_argument("--json", action="store_true", help="print a JSON object")

    cmd = _command(sub, "down", down.run, "delete the stack", parents=[common])
    cmd.add_argument("--yes", action="store_true", help="delete without asking")
    cmd.add_argument(
        "--disable-protection",
        action="store_true",
        help="turn off stack termination and DB cluster deletion protection first (and back "
        "on if the delete fails)",
    )

    cmd = _command(
        sub,
        "manage",
        manage.run,
        "run a management command on one instance (Run Command)",
        parents=[common],
        description="Run `manage.py ARGS` on one instance of the stack through Session Manager "
        "Run Command; prints its output and exits with its exit code.",
    )
    cmd.add_argument("--instance-id", help="default: the first InService, healthy instance")
    cmd.add_argument(
        "--timeout", type=int, default=600, help="seconds the command may run (default 600)"
    )
    cmd.add_argument("args", nargs="+", metavar="ARG", help="after --: the command and its args")

    cmd = _command(
        sub,
        "refresh",
        refresh.run,
        "replace the instances (new AMI) and follow the instance refresh",
        parents=[common],
    )
    cmd.add_argument(
        "--min-healthy-percentage",
        type=int,
        choices=range(0, 101),
        metavar="0-100",
        help="default: the group's instance maintenance policy",
    )
    cmd.add_argument(
        "--instance-warmup", type=int, help="seconds a new instance warms up (default: group's)"
    )
    cmd.add_argument("--yes", action="store_true", help="start without asking")
    return parser
