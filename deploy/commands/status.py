"""`status`: the root stack's status and each nested stack's."""

from __future__ import annotations

import json
from typing import Any

from .. import teardown
from ..context import Context, existing_stack


def run(ctx: Context) -> int:
    deployer = ctx.deployer()
    stack = existing_stack(ctx, deployer)
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
