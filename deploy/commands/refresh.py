"""`refresh`: replace the instances (new AMI) and follow the instance refresh."""

from __future__ import annotations

from typing import Any

from ..context import Context, existing_stack


def run(ctx: Context) -> int:
    args, console = ctx.args, ctx.console
    stack = existing_stack(ctx, ctx.deployer())
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
    if not ctx.approved(f"Replace the instances of {group}? [y/N] "):
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
