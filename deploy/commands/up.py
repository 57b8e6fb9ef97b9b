"""`up`: package, create the change set, preview it, ask, execute and follow it."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from .. import changesets, preflight
from ..context import (
    Context,
    Interrupted,
    declared_parameters,
    given_parameters,
    pairs,
    print_outputs,
)
from ..deployer import ChangeSet, Deployer, parameters
from ..exceptions import ConfirmationRequired
from ..packaging import Packager
from .upload import filled_in, package


def run(ctx: Context) -> int:
    args, console, clients = ctx.args, ctx.console, ctx.clients
    root_path = args.templates / args.root_template
    declared = declared_parameters(root_path)
    given = given_parameters(args.param, declared, args.parameters_file)
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
    template_set, key = package(ctx, packager, with_artifact="ArtifactKey" in declared)
    values = filled_in(args.bucket, template_set, key, declared)
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
            tags=dict(pairs(args.tag, "--tag")),
            on_failure=args.on_failure,
            role_arn=args.role_arn,
        )
        pending.change_set = change_set
        tree = None
        if change_set:
            with console.waiting(f"creating change set {change_set.name}"):
                tree = deployer.wait_for_change_set(change_set)
        if change_set is None or tree is None:
            pending.change_set = None  # an empty change set was deleted by the wait
            console.print(f"Stack {args.stack_name} is up to date: no changes to deploy.")
            stack = deployer.stack(args.stack_name)
            return print_outputs(ctx, deployer, stack)
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
    with console.waiting(f"{change_set.type.lower()} of {args.stack_name}", operation=True):
        outcome = deployer.execute(change_set, console.events)
    console.print(f"Stack {args.stack_name}: {outcome.status}")
    if args.enable_termination_protection:
        _protect_new_stack(ctx, change_set)
    return print_outputs(ctx, deployer, outcome.stack)


def _protect_new_stack(ctx: Context, change_set: ChangeSet) -> None:
    """Termination protection for a stack this `up` created; an existing one keeps its own."""
    if change_set.type != "CREATE":
        ctx.console.print(
            "--enable-termination-protection applies when `up` creates the stack; this one "
            "existed. Turn it on with `aws cloudformation update-termination-protection "
            f"--enable-termination-protection --stack-name {change_set.stack_name}`."
        )
        return
    ctx.retry(
        ctx.clients.cloudformation.update_termination_protection,
        StackName=change_set.stack_id,
        EnableTerminationProtection=True,
    )
    ctx.console.print(f"Termination protection turned on for {change_set.stack_name}.")


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
                "No change set had been created yet (if the request was already on its way, "
                "`aws cloudformation list-change-sets` shows it). Uploaded files stay in the "
                "bucket, where the next run reuses them."
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
