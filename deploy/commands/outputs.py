"""`outputs`: the root stack's outputs, as a table or JSON."""

from __future__ import annotations

from ..context import Context, existing_stack, print_outputs


def run(ctx: Context) -> int:
    deployer = ctx.deployer()
    return print_outputs(ctx, deployer, existing_stack(ctx, deployer))
