"""Packaging shared by `up` and `console-bundle`: the app artifact and the templates to S3."""

from __future__ import annotations

import logging
from typing import Any

from .. import artifact
from ..context import Context
from ..exceptions import BadParameter
from ..packaging import Packager, TemplateSet

logger = logging.getLogger(__name__)


def package(
    ctx: Context, packager: Packager, *, with_artifact: bool
) -> tuple[TemplateSet, str | None]:
    """Upload the templates and (if asked) the app artifact; return where they are."""
    args, console = ctx.args, ctx.console
    key = None
    if with_artifact:
        if args.artifact:
            key = packager.artifact(artifact.read(args.artifact))
        elif args.artifact_key:
            if not packager.exists(args.artifact_key):
                raise BadParameter(
                    name="--artifact-key",
                    problem=f"no object s3://{args.bucket}/{args.artifact_key}. Pick one under "
                    f"{args.key_prefix}artifacts/ (earlier deploys uploaded them there).",
                )
            key = args.artifact_key
        else:
            console.print(f"Building the app artifact from {args.project_dir.resolve()}")
            with console.waiting("building the app artifact (wheels for x86_64 and arm64)"):
                built = artifact.build(args.project_dir)
            key = packager.artifact(built)
    template_set = packager.templates(args.templates, args.root_template)
    console.print(
        f"Packaged to s3://{args.bucket}/: {len(packager.uploaded)} uploaded, "
        f"{len(packager.skipped)} already there"
    )
    for uploaded in packager.uploaded:
        logger.info("uploaded s3://%s/%s", args.bucket, uploaded)
    return template_set, key


def filled_in(
    bucket: str, template_set: TemplateSet, artifact_key: str | None, declared: dict[str, Any]
) -> dict[str, str]:
    """The root parameters deploy fills in, for those the root template declares."""
    values = {"TemplatesBucket": bucket, "TemplatesPrefix": template_set.prefix}
    if artifact_key:
        values |= {"ArtifactBucket": bucket, "ArtifactKey": artifact_key}
    return {name: value for name, value in values.items() if name in declared}
