"""`events`: the merged events of the last operation (or all), and the root cause."""

from __future__ import annotations

from ..context import Context, existing_stack
from ..events import describe_cause, operation_before_last, root_cause


def run(ctx: Context) -> int:
    args, console = ctx.args, ctx.console
    deployer = ctx.deployer()
    stack = existing_stack(ctx, deployer)
    watcher = deployer.history(stack["StackId"], stack["StackName"], everything=args.all)
    console.events(watcher.events)
    status = stack["StackStatus"]
    if args.follow and status.endswith("_IN_PROGRESS"):
        with console.waiting(f"{status} of {stack['StackName']}", operation=True):
            while status.endswith("_IN_PROGRESS"):
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
