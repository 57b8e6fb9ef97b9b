"""`console-bundle`: upload templates and artifact, print what to paste into the console."""

from __future__ import annotations

import json

from .. import preflight
from ..context import Context, declared_parameters
from ..packaging import Packager
from .upload import filled_in, package


def run(ctx: Context) -> int:
    args, console, clients = ctx.args, ctx.console, ctx.clients
    declared = declared_parameters(args.templates / args.root_template)
    preflight.caller_identity(clients.sts, ctx.retry)
    preflight.ensure_bucket(
        clients.s3, args.bucket, clients.region, ctx.retry, create=args.create_bucket
    )
    packager = Packager(clients.s3, args.bucket, clients.region, args.key_prefix, ctx.retry)
    # The artifact is uploaded even if this root does not take it yet: instances need it.
    template_set, key = package(ctx, packager, with_artifact=True)
    bundle = {
        "TemplateURL": template_set.root_url,
        "Parameters": filled_in(args.bucket, template_set, key, declared),
        "Artifact": f"s3://{args.bucket}/{key}",
    }
    if args.json:
        console.result(json.dumps(bundle, indent=2, sort_keys=True))
        return 0
    console.result(f"In the CloudFormation console ({clients.region}): Create stack > With new")
    console.result("resources > Template is ready > Amazon S3 URL:")
    console.result(f"  {bundle['TemplateURL']}")
    console.result("Then, on the parameters page (the others are yours to choose):")
    for name, value in sorted(bundle["Parameters"].items()):
        console.result(f"  {name}: {value}")
    console.result(f"App artifact: {bundle['Artifact']}")
    return 0
