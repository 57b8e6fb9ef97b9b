"""Upload the templates and the app artifact to S3 under content-addressed keys.

A key holds the sha256 of what is stored under it, so an object that is already there is the
same bytes: HeadObject decides, and a re-run with nothing changed uploads nothing. Old objects
stay; rolling back is redeploying an older ArtifactKey. The children go under a prefix named
after the hash of all of them (the root's TemplatesPrefix), so one prefix is one consistent set.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from botocore.exceptions import ClientError

from .artifact import Artifact
from .exceptions import TemplatesMissing
from .retry import Retrying

logger = logging.getLogger(__name__)

TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json", ".template")


@dataclass(frozen=True)
class TemplateSet:
    """Where the templates are in S3: the root's URL and the children's prefix."""

    root_key: str
    root_url: str
    prefix: str
    children: tuple[str, ...]


@dataclass
class Packager:
    """Uploads to one bucket with the S3 client it is given; records what it did."""

    s3: Any
    bucket: str
    region: str
    key_prefix: str = "employees-platform/"
    retry: Retrying = field(default_factory=Retrying)
    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def upload(self, key: str, data: bytes, content_type: str) -> bool:
        """Put ``data`` at ``key`` unless an object is there already; True if uploaded."""
        try:
            self.retry(self.s3.head_object, Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
        else:
            logger.info("s3://%s/%s is there already", self.bucket, key)
            self.skipped.append(key)
            return False
        self.retry(
            self.s3.put_object,
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            ChecksumAlgorithm="SHA256",
        )
        self.uploaded.append(key)
        return True

    def templates(self, directory: Path, root_name: str = "root.yaml") -> TemplateSet:
        """Upload the children under their common hash prefix, then the root beside them."""
        root_path = directory / root_name
        if not root_path.is_file():
            raise TemplatesMissing(path=root_path)
        children = sorted(
            path
            for path in directory.iterdir()
            if path.is_file() and path.suffix in TEMPLATE_SUFFIXES and path.name != root_name
        )
        digest = hashlib.sha256()
        for path in children:
            digest.update(f"{path.name}\0{_sha256(path.read_bytes())}\n".encode())
        prefix = f"{self.key_prefix}templates/{digest.hexdigest()}/"
        for path in children:
            self.upload(prefix + path.name, path.read_bytes(), "text/yaml")
        root = root_path.read_bytes()
        root_key = f"{prefix}root-{_sha256(root)[:16]}{root_path.suffix}"
        self.upload(root_key, root, "text/yaml")
        return TemplateSet(
            root_key=root_key,
            root_url=self.url(root_key),
            prefix=prefix,
            children=tuple(path.name for path in children),
        )

    def artifact(self, artifact: Artifact) -> str:
        """Upload the app artifact; return its key."""
        stem = artifact.filename.rsplit(".", 1)[0]
        key = f"{self.key_prefix}artifacts/{stem}-{artifact.sha256}.zip"
        self.upload(key, artifact.data, "application/zip")
        return key

    def exists(self, key: str) -> bool:
        try:
            self.retry(self.s3.head_object, Bucket=self.bucket, Key=key)
        except ClientError:
            return False
        return True

    def url(self, key: str) -> str:
        """The object's URL as CloudFormation reads a TemplateURL.

        On AWS that is the virtual-hosted, regional form. Against a local S3-compatible API (a
        custom endpoint), the path-style form on that endpoint.
        """
        endpoint = self.s3.meta.endpoint_url
        host = urlsplit(endpoint).hostname or ""
        if host.endswith((".amazonaws.com", ".amazonaws.com.cn")):
            suffix = "amazonaws.com.cn" if host.endswith(".cn") else "amazonaws.com"
            return f"https://{self.bucket}.s3.{self.region}.{suffix}/{quote(key)}"
        return f"{endpoint.rstrip('/')}/{self.bucket}/{quote(key)}"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
