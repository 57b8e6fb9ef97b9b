"""The app artifact: the project's wheel, every dependency for the instances, and hashed locks.

The zip holds the project's wheel, ``requirements.lock``, ``wheelhouse/`` and
``deploy/bootstrap/`` (this package's bootstrap script and its templates, at the path the launch
template's user data runs it from). The lock pins every runtime dependency, transitively, to the
version installed where the build runs (the versions the project's tests ran with), and lists
the sha256 of every file the wheelhouse holds for it (see ``deploy.wheelhouse``: wheels for
CPython 3.11 on x86_64 and arm64, and mysqlclient's source) and of the project's wheel. When the
wheelhouse holds source distributions, ``build-requirements.lock`` pins what builds them. The
bootstrap installs both with ``pip install --no-index --require-hashes``: an instance needs no
package index, and installs exactly these files.

The zip is byte-for-byte reproducible, so its sha256 (its S3 key) changes only when the code or
the locked versions do: the wheel is built from a copy of the project with SOURCE_DATE_EPOCH
fixed, and the zip entries carry a fixed date.
"""

from __future__ import annotations

import email.parser
import hashlib
import importlib.metadata
import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from . import wheelhouse
from .exceptions import ArtifactBuildFailed

LOCK_NAME = "requirements.lock"
BUILD_LOCK_NAME = "build-requirements.lock"
WHEELHOUSE = "wheelhouse/"
# What every instance runs at boot; shipped beside the wheel so user data can run it before any
# Python package is installed.
BOOTSTRAP_DIR = Path(__file__).resolve().parent / "bootstrap"
BOOTSTRAP_PREFIX = "deploy/bootstrap/"
# 1980-01-01, the earliest date a zip entry can hold.
SOURCE_DATE_EPOCH = "315532800"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# Never part of a build: local environments, caches, build output, local databases.
_IGNORED = shutil.ignore_patterns(
    ".git",
    ".venv*",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    "*.sqlite3",
    "node_modules",
    "staticfiles",
)


@dataclass(frozen=True)
class Artifact:
    """A built artifact: its bytes and their sha256."""

    filename: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def read(path: Path) -> Artifact:
    """An artifact built before (``python -m deploy`` builds it when not given one)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ArtifactBuildFailed(
            project=path, reason=f"cannot read it: {error.strerror}"
        ) from error
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ArtifactBuildFailed(project=path, reason="it is not a zip file.")
    return Artifact(filename=path.name, data=data)


def build(
    project_dir: Path,
    *,
    cache: Path | None = None,
    download: wheelhouse.Downloader | None = None,
) -> Artifact:
    """Build the project's wheel, gather its locked dependencies (from ``cache``, downloading
    what is missing), write the hashed locks, and zip them reproducibly."""
    project_dir = project_dir.resolve()
    if not (project_dir / "pyproject.toml").is_file() and not (project_dir / "setup.py").is_file():
        raise ArtifactBuildFailed(
            project=project_dir,
            reason="no pyproject.toml or setup.py there; pass --project-dir DIR.",
        )
    with tempfile.TemporaryDirectory(prefix="deploy-artifact-") as scratch:
        # A copy, so that the in-tree build leaves no build/ or *.egg-info in the project.
        source = Path(scratch) / "src"
        shutil.copytree(project_dir, source, ignore=_IGNORED)
        wheel = _build_wheel(source, Path(scratch) / "wheel", project_dir)
        pins = pinned(_requires(wheel))
        files = wheelhouse.collect(pins, cache or wheelhouse.DEFAULT_CACHE, download)
        versions = pins | wheelhouse.BUILD_REQUIREMENTS
        build_names = {name for name in files if name in wheelhouse.BUILD_REQUIREMENTS}
        runtime = {name: paths for name, paths in files.items() if name not in build_names}
        # The project's own wheel by path (the bootstrap runs pip in the release directory).
        own = f"./{wheel.name} \\\n    --hash=sha256:{wheelhouse.sha256(wheel)}\n"
        lock = _HEADER + "".join(wheelhouse.lock_lines(runtime, versions)) + own
        entries = [(wheel.name, wheel.read_bytes(), 0o644), (LOCK_NAME, lock.encode(), 0o644)]
        if build_names:
            build_files = {name: files[name] for name in build_names}
            build_lock = _BUILD_HEADER + "".join(wheelhouse.lock_lines(build_files, versions))
            entries.append((BUILD_LOCK_NAME, build_lock.encode(), 0o644))
        entries += bootstrap_files()
        entries += [
            (WHEELHOUSE + path.name, path.read_bytes(), 0o644)
            for path in sorted({path for paths in files.values() for path in paths})
        ]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data, mode in entries:
                info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
                info.external_attr = mode << 16
                # Wheels and sdists are compressed already: stored, they zip in no time.
                stored = name.startswith(WHEELHOUSE)
                info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
                archive.writestr(info, data)
    return Artifact(filename=f"{wheel.name.split('-')[0]}.zip", data=buffer.getvalue())


def bootstrap_files() -> list[tuple[str, bytes, int]]:
    """The bootstrap's files as zip entries (name, bytes, mode), in name order."""
    files = sorted(path for path in BOOTSTRAP_DIR.iterdir() if path.is_file())
    if not any(path.name == "bootstrap.sh" for path in files):
        raise ArtifactBuildFailed(
            project=BOOTSTRAP_DIR, reason="bootstrap.sh is missing; reinstall the deploy package."
        )
    return [
        (BOOTSTRAP_PREFIX + path.name, path.read_bytes(), 0o755 if path.suffix == ".sh" else 0o644)
        for path in files
    ]


def _build_wheel(source: Path, out: Path, project_dir: Path) -> Path:
    environment = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH}
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    wheels = sorted(out.glob("*.whl"))
    if result.returncode != 0 or len(wheels) != 1:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise ArtifactBuildFailed(project=project_dir, reason=f"pip wheel failed:\n{tail}")
    return wheels[0]


def _requires(wheel: Path) -> list[str]:
    """The Requires-Dist lines of a wheel's METADATA."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = email.parser.Parser().parsestr(archive.read(name).decode())
    return metadata.get_all("Requires-Dist") or []


_HEADER = (
    "# Runtime dependencies as installed where the artifact was built (tested versions), with\n"
    "# the sha256 of every file of wheelhouse/ for each. Install from the release directory:\n"
    "# pip install --no-index --find-links wheelhouse --require-hashes --no-deps \\\n"
    "#     --no-build-isolation -r requirements.lock\n"
)
_BUILD_HEADER = (
    "# What builds the source distributions of wheelhouse/; installed first, hash-checked.\n"
)


def pinned(requirements: list[str]) -> dict[str, str]:
    """Canonical name -> version of every runtime dependency, transitively, as installed here."""
    pinned: dict[str, str] = {}
    expanded: set[tuple[str, str]] = set()
    pending = [(line, "") for line in requirements]
    while pending:
        line, extra = pending.pop()
        try:
            requirement = Requirement(line)
        except InvalidRequirement as error:
            raise ArtifactBuildFailed(project="the project", reason=str(error)) from error
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        key = canonicalize_name(requirement.name)
        wanted = [item for item in ("", *sorted(requirement.extras)) if (key, item) not in expanded]
        if not wanted:
            continue
        try:
            distribution = importlib.metadata.distribution(requirement.name)
        except importlib.metadata.PackageNotFoundError as error:
            raise ArtifactBuildFailed(
                project="the project",
                reason=f"{requirement.name} is not installed where the build runs, so its version "
                "cannot be locked. Install the project with its dependencies (`make setup`, or "
                "`pip install -e .`) and run again.",
            ) from error
        if not requirement.specifier.contains(distribution.version, prereleases=True):
            raise ArtifactBuildFailed(
                project="the project",
                reason=f"{requirement.name} {distribution.version} is installed, but the project "
                f"asks for {requirement.specifier}. Reinstall the project's dependencies.",
            )
        pinned[key] = distribution.version
        for item in wanted:
            expanded.add((key, item))
            pending.extend((sub, item) for sub in distribution.requires or [])
    return dict(sorted(pinned.items()))
