"""Checks before anything is uploaded: templates fresh and lint-clean, credentials, the bucket."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from .exceptions import BucketInOtherRegion, BucketMissing, PreflightFailed
from .retry import Retrying

logger = logging.getLogger(__name__)


def infra_checks(project_dir: Path, *, lint: bool = True) -> None:
    """``python -m infra build --check`` and, if ``lint``, ``python -m infra lint``.

    They run as commands (the interface the README documents) in the project directory, so the
    checks are exactly what a developer runs by hand.
    """
    steps = [("build", "--check")] + ([("lint",)] if lint else [])
    for args in steps:
        command = [sys.executable, "-m", "infra", *args]
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            command, cwd=project_dir, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            details = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
            fix = (
                "Rebuild them with `python -m infra build` and commit the result."
                if args[0] == "build"
                else "Fix the findings above in infra/, rebuild, and run again."
            )
            raise PreflightFailed(
                what=f"`python -m infra {' '.join(args)}` exited {result.returncode}",
                details=details,
                fix=fix,
            )


def caller_identity(sts: Any, retry: Retrying) -> dict[str, Any]:
    """Who the credentials are (NoCredentialsError propagates to the CLI edge)."""
    return retry(sts.get_caller_identity)


def bucket_region(s3: Any, bucket: str, retry: Retrying) -> str | None:
    """The bucket's Region, or None if it does not exist."""
    try:
        retry(s3.head_bucket, Bucket=bucket)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code in ("404", "NoSuchBucket", "NotFound"):
            return None
        headers = error.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        if code == "301" and headers.get("x-amz-bucket-region"):
            return headers["x-amz-bucket-region"]
        raise
    location = retry(s3.get_bucket_location, Bucket=bucket).get("LocationConstraint")
    # GetBucketLocation answers null for us-east-1 and "EU" for the oldest eu-west-1 buckets.
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location)


def ensure_bucket(s3: Any, bucket: str, region: str, retry: Retrying, *, create: bool) -> bool:
    """Check the bucket is in ``region``; create it if asked and missing. True if created."""
    found = bucket_region(s3, bucket, retry)
    if found is None:
        if not create:
            raise BucketMissing(bucket=bucket)
        create_bucket(s3, bucket, region, retry)
        return True
    if found != region:
        raise BucketInOtherRegion(bucket=bucket, bucket_region=found, region=region)
    return False


def create_bucket(s3: Any, bucket: str, region: str, retry: Retrying) -> None:
    """An encrypted, versioned bucket with every kind of public access blocked."""
    arguments: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":  # us-east-1 rejects an explicit LocationConstraint
        arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
    retry(s3.create_bucket, **arguments)
    retry(
        s3.put_public_access_block,
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    retry(
        s3.put_bucket_encryption,
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    retry(s3.put_bucket_versioning, Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
