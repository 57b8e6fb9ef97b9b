"""`manage`: one management command on one instance, through Run Command."""

from __future__ import annotations

import sys

from .. import instances
from ..context import Context, existing_stack


def run(ctx: Context) -> int:
    args, console = ctx.args, ctx.console
    stack = existing_stack(ctx, ctx.deployer())
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
