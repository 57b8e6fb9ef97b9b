"""`down`: say what deleting the stack involves and keeps, lift protections if asked, delete."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from .. import teardown
from ..context import Context
from ..exceptions import DeployError, TerminationProtected


def run(ctx: Context) -> int:
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
    if not ctx.approved(f"Delete stack {args.stack_name}? [y/N] "):
        console.print("Cancelled; nothing was deleted.")
        return 1
    # First what needs no protection off: a failure here leaves the stack as protected as it was.
    teardown.stop_reader_scaling(clients.application_autoscaling, plan.extra_readers, ctx.retry)
    teardown.remove_readers(
        clients.rds, plan.extra_readers, ctx.retry, ctx.sleep, args.poll_interval
    )
    try:
        if plan.protected_stack:
            ctx.retry(
                clients.cloudformation.update_termination_protection,
                StackName=stack["StackId"],
                EnableTerminationProtection=False,
            )
            console.print("Termination protection turned off.")
        teardown.set_cluster_protection(clients.rds, plan.protected_clusters, ctx.retry, on=False)
        with console.waiting(f"deletion of {args.stack_name}", operation=True):
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
