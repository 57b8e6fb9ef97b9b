"""The artifact's wheelhouse: every locked dependency, for the instances' Python, with hashes.

Instances boot without reaching a package index: the bootstrap installs with ``pip install
--no-index --require-hashes`` from the files the artifact carries. Those are, for each locked
``name==version``, the wheels for CPython 3.11 on Amazon Linux 2023 (glibc 2.34) on x86_64 and on
arm64 (Graviton), and for the packages that publish no Linux wheel (mysqlclient) the source
distribution, which the instance compiles against the OS's MariaDB client library with the pinned
build requirements, installed first and hash-checked too.

Files come from a local cache and only the missing ones are downloaded (``pip download``), so a
rebuild with the same lock touches no network.
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
import tarfile
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path

from packaging.requirements import Requirement
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from .exceptions import ArtifactBuildFailed

logger = logging.getLogger(__name__)

PYTHON = (3, 11)  # Amazon Linux 2023's python3.11 package, which the bootstrap installs
ARCHITECTURES = ("x86_64", "aarch64")
GLIBC_MINOR = 34  # Amazon Linux 2023: glibc 2.34, so manylinux_2_34 and everything older
# No Linux wheels on the index: shipped as source, compiled at boot (gcc, headers from dnf).
SOURCE_ONLY = frozenset({"mysqlclient"})
# What building those sources needs (mysqlclient 2.3 asks for setuptools>=77); checked against
# each source distribution's [build-system] requires when the artifact is built.
BUILD_REQUIREMENTS = {"setuptools": "80.9.0"}
DEFAULT_CACHE = Path.home() / ".cache" / "employees-platform" / "wheelhouse"

Downloader = Callable[[list[str], list[str], Path], None]


def platforms(arch: str) -> list[str]:
    """pip's --platform values an AL2023 instance of ``arch`` accepts (pip does not expand them)."""
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(GLIBC_MINOR, 4, -1)]
    return [*tags, f"manylinux2014_{arch}", f"manylinux2010_{arch}", f"manylinux1_{arch}"]


def target_tags(arch: str) -> frozenset[Tag]:
    chosen = platforms(arch)
    abi = f"cp{PYTHON[0]}{PYTHON[1]}"
    return frozenset(
        [
            *cpython_tags(PYTHON, abis=[abi, "abi3", "none"], platforms=chosen),
            *compatible_tags(PYTHON, abi, chosen),
        ]
    )


def collect(
    pins: dict[str, str], cache: Path, download: Downloader | None = None
) -> dict[str, list[Path]]:
    """The files for every pin (canonical name -> version): from the cache, downloading what is
    missing. Returns canonical name -> files (wheels for both architectures, or the sdist)."""
    download = download or pip_download
    cache.mkdir(parents=True, exist_ok=True)
    sources = {name: v for name, v in pins.items() if canonicalize_name(name) in SOURCE_ONLY}
    if sources:
        pins = pins | BUILD_REQUIREMENTS
    for arch in ARCHITECTURES:
        wanted = {n: v for n, v in pins.items() if n not in sources}
        missing = [f"{n}=={v}" for n, v in sorted(wanted.items()) if not _wheels(cache, n, v, arch)]
        if missing:
            logger.info("downloading %d wheels for %s", len(missing), arch)
            download(["--only-binary=:all:", *_platform_args(arch)], missing, cache)
    missing = [f"{n}=={v}" for n, v in sorted(sources.items()) if not _sdists(cache, n, v)]
    if missing:
        download(["--no-binary=:all:"], missing, cache)
    found: dict[str, list[Path]] = {}
    for name, version in sorted(pins.items()):
        if name in sources:
            files = _sdists(cache, name, version)
        else:
            per_arch = {arch: _wheels(cache, name, version, arch) for arch in ARCHITECTURES}
            files = sorted({path for paths in per_arch.values() for path in paths})
            lacking = [arch for arch, paths in per_arch.items() if not paths]
            if lacking:
                raise ArtifactBuildFailed(
                    project="the lock",
                    reason=f"{name}=={version} has no wheel for CPython 3.11 on "
                    f"{', '.join(lacking)} Linux. Pick a version that has one, or add it to "
                    "deploy.wheelhouse.SOURCE_ONLY to compile it at boot.",
                )
        if not files:
            raise ArtifactBuildFailed(
                project="the lock", reason=f"no source distribution of {name}=={version}."
            )
        found[name] = files
    for name, files in found.items():
        if name in sources:
            _check_build_requirements(files[0])
    return found


def lock_lines(files: dict[str, list[Path]], pins: dict[str, str]) -> list[str]:
    """``name==version --hash=sha256:...`` for every file of every pin, in name order."""
    lines = []
    for name in sorted(files):
        hashes = sorted(f"--hash=sha256:{sha256(path)}" for path in files[name])
        lines.append(" \\\n    ".join([f"{name}=={pins[name]}", *hashes]) + "\n")
    return lines


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pip_download(options: list[str], requirements: list[str], cache: Path) -> None:
    """``pip download --no-deps`` into the cache (the lock already names every package)."""
    argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(cache)]
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [*argv, *options, *requirements], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
        raise ArtifactBuildFailed(
            project="the package index",
            reason="pip download of the locked dependencies failed (is the index reachable?):\n"
            + "\n".join(errors[-5:] or result.stderr.strip().splitlines()[-5:]),
        )


def _platform_args(arch: str) -> list[str]:
    version = f"{PYTHON[0]}.{PYTHON[1]}"
    abi = f"cp{PYTHON[0]}{PYTHON[1]}"
    args = ["--python-version", version, "--implementation", "cp", "--abi", abi]
    for platform in platforms(arch):
        args += ["--platform", platform]
    return args


def _wheels(cache: Path, name: str, version: str, arch: str) -> list[Path]:
    tags = target_tags(arch)
    found = []
    for path in cache.glob("*.whl"):
        try:
            wheel_name, wheel_version, _, wheel_tags = parse_wheel_filename(path.name)
        except InvalidWheelFilename:
            continue
        if _same(wheel_name, wheel_version, name, version) and wheel_tags & tags:
            found.append(path)
    return found


def _sdists(cache: Path, name: str, version: str) -> list[Path]:
    found = []
    for path in cache.glob("*.tar.gz"):
        try:
            sdist_name, sdist_version = parse_sdist_filename(path.name)
        except InvalidSdistFilename:
            continue
        if _same(sdist_name, sdist_version, name, version):
            found.append(path)
    return sorted(found)


def _same(found_name: str, found_version: Version, name: str, version: str) -> bool:
    return canonicalize_name(found_name) == canonicalize_name(name) and found_version == Version(
        version
    )


def _check_build_requirements(sdist: Path) -> None:
    """The pinned build requirements satisfy what the source distribution asks for."""
    for line in _build_requires(sdist):
        requirement = Requirement(line)
        pinned = BUILD_REQUIREMENTS.get(canonicalize_name(requirement.name))
        if pinned is None or not requirement.specifier.contains(pinned, prereleases=True):
            raise ArtifactBuildFailed(
                project=sdist.name,
                reason=f"it builds with {line}, which deploy.wheelhouse.BUILD_REQUIREMENTS "
                f"({BUILD_REQUIREMENTS}) does not satisfy. Pin a version that does.",
            )


def _build_requires(sdist: Path) -> Iterable[str]:
    with tarfile.open(sdist) as archive:
        member = next(
            (m for m in archive.getmembers() if m.name.count("/") == 1
             and m.name.endswith("/pyproject.toml")),
            None,
        )  # fmt: skip
        if member is None:
            return ["setuptools"]  # PEP 517's default for a project without pyproject.toml
        data = tomllib.loads(archive.extractfile(member).read().decode())
    return data.get("build-system", {}).get("requires", ["setuptools"])
