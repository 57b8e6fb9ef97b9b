"""The app artifact and content-addressed uploads to S3 (the local AWS API)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import zipfile
from pathlib import Path

import pytest

from deploy import artifact, wheelhouse
from deploy.exceptions import ArtifactBuildFailed
from deploy.packaging import Packager

from .conftest import FIXTURES, REGION, count_puts

PROJECT = Path(__file__).resolve().parents[2]


def test_artifact_is_reproducible_and_holds_wheel_and_lock(artifact_zip):
    """Two builds of the same project give the same bytes: a wheel and a pinned lock."""
    first = artifact.build(FIXTURES / "tinyapp")
    assert first.sha256 == artifact.read(artifact_zip).sha256
    with zipfile.ZipFile(io.BytesIO(first.data)) as archive:
        names = archive.namelist()
        assert names[:2] == ["tinyapp-1.0.0-py3-none-any.whl", "requirements.lock"]
        assert "deploy/bootstrap/bootstrap.sh" in names[2:]
        lock = archive.read("requirements.lock").decode()
    assert f"pyyaml=={importlib.metadata.version('PyYAML')} \\\n" in lock
    assert not list((FIXTURES / "tinyapp").glob("*.egg-info"))  # built from a copy


def _hashes(lock: str) -> dict[str, list[str]]:
    """Requirement -> its sha256 hashes, from a lock's continued lines."""
    entries: dict[str, list[str]] = {}
    for entry in lock.replace("\\\n", " ").splitlines():
        if entry and not entry.startswith("#"):
            requirement, *hashes = entry.split()
            entries[requirement] = [h.removeprefix("--hash=sha256:") for h in hashes]
    return entries


def test_real_project_artifact_carries_every_dependency_for_both_architectures():
    """The project's artifact pins Django and boto3 (no test tools), carries a wheel for x86_64
    and one for arm64 of each compiled package, mysqlclient's source and what builds it, and its
    locks hold the sha256 of exactly the files it carries."""
    built = artifact.build(PROJECT)
    with zipfile.ZipFile(io.BytesIO(built.data)) as archive:
        names = archive.namelist()
        lock = archive.read("requirements.lock").decode()
        build_lock = archive.read("build-requirements.lock").decode()
        carried = {
            hashlib.sha256(archive.read(name)).hexdigest(): name.removeprefix("wheelhouse/")
            for name in names
            if name.startswith("wheelhouse/") or name.endswith(".whl")
        }
    assert names[0].startswith("employees_platform-") and names[0].endswith(".whl")
    entries = _hashes(lock) | _hashes(build_lock)
    assert f"django=={importlib.metadata.version('django')}" in entries
    assert f"boto3=={importlib.metadata.version('boto3')}" in entries
    assert not [name for name in entries if name.startswith(("pytest", "moto"))]
    assert f"./{names[0]}" in entries  # the app's own wheel, hash-checked too
    pyyaml = [carried[h] for h in entries[f"pyyaml=={importlib.metadata.version('PyYAML')}"]]
    assert any("x86_64" in name for name in pyyaml) and any("aarch64" in name for name in pyyaml)
    assert all("cp311" in name for name in pyyaml)
    [mysqlclient] = [name for name in entries if name.startswith("mysqlclient==")]
    assert [carried[h] for h in entries[mysqlclient]] == [
        f"mysqlclient-{mysqlclient.split('==')[1]}.tar.gz"
    ]
    assert [name for name in _hashes(build_lock)] == [
        f"setuptools=={wheelhouse.BUILD_REQUIREMENTS['setuptools']}"
    ]
    every_hash = [h for hashes in entries.values() for h in hashes]
    assert sorted(every_hash) == sorted(carried)  # nothing unlisted, nothing missing

    with zipfile.ZipFile(io.BytesIO(archive_member(built.data, names[0]))) as wheel:
        files = set(wheel.namelist())
    for shipped in (
        "employees_site/templates/base.html",
        "employees_site/templates/503.html",
        "employees_site/employees/templates/admin/employees/employee/pagination.html",
        "employees_site/employees/static/employees/site.css",
    ):
        assert shipped in files, shipped
    assert not any("__pycache__" in name for name in files)


def archive_member(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read(name)


def test_a_rebuild_with_the_cache_filled_downloads_nothing(artifact_zip):
    """Once the wheelhouse cache holds the locked files, building again needs no index."""

    def refuse(options, requirements, cache):
        raise AssertionError(f"downloaded {requirements} although the cache has them")

    assert artifact.build(FIXTURES / "tinyapp", download=refuse).data == artifact_zip.read_bytes()


def test_a_dependency_without_a_wheel_for_arm64_is_named(tmp_path):
    """A locked package with an x86_64 wheel only is refused, naming it and the architecture."""
    cache = tmp_path / "cache"

    def fetch_x86_only(options, requirements, cache_dir):
        if "manylinux_2_34_x86_64" in options:
            (cache_dir / "onlyx86-1.0-cp311-cp311-manylinux_2_17_x86_64.whl").write_bytes(b"w")

    with pytest.raises(ArtifactBuildFailed, match=r"onlyx86==1.0 has no wheel .* on aarch64"):
        wheelhouse.collect({"onlyx86": "1.0"}, cache, fetch_x86_only)


def test_lock_names_a_dependency_that_is_not_installed():
    """A requirement missing from the build environment is named, with how to install it."""
    with pytest.raises(ArtifactBuildFailed, match="no-such-package-xyz is not installed"):
        artifact.pinned(["no-such-package-xyz>=1"])


def test_second_packaging_run_uploads_nothing(clients, bucket, templates, artifact_zip):
    """Same templates and artifact: the second run skips every object (HeadObject finds it)."""
    first = Packager(clients.s3, bucket, REGION)
    first_set = first.templates(templates)
    first_key = first.artifact(artifact.read(artifact_zip))
    puts = count_puts(clients.s3)
    second = Packager(clients.s3, bucket, REGION)
    assert second.templates(templates) == first_set
    assert second.artifact(artifact.read(artifact_zip)) == first_key
    assert puts == [] and second.uploaded == []
    assert len(second.skipped) == 3
    assert first_key.endswith(f"-{artifact.read(artifact_zip).sha256}.zip")


def test_templates_prefix_is_the_hash_of_the_children(clients, bucket, templates):
    """Changing a child moves the set to a new prefix; the old set stays for rollbacks."""
    before = Packager(clients.s3, bucket, REGION).templates(templates)
    (templates / "network.yaml").write_text((templates / "network.yaml").read_text() + "\n")
    after = Packager(clients.s3, bucket, REGION).templates(templates)
    assert after.prefix != before.prefix
    keys = {o["Key"] for o in clients.s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert {before.prefix + "network.yaml", after.prefix + "network.yaml"} <= keys
    assert after.root_url == f"{clients.s3.meta.endpoint_url}/{bucket}/{after.root_key}"


def test_template_url_on_aws_is_virtual_hosted(clients):
    """Against AWS itself the TemplateURL is the regional virtual-hosted form."""
    import boto3

    s3 = boto3.client(
        "s3", region_name="eu-west-1", endpoint_url="https://s3.eu-west-1.amazonaws.com"
    )
    url = Packager(s3, "my-bucket", "eu-west-1").url("p/root.yaml")
    assert url == "https://my-bucket.s3.eu-west-1.amazonaws.com/p/root.yaml"
