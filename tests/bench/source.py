"""Which code was measured: a clean export of a commit, or the working tree (fingerprinted).

Several people may edit a shared working tree while a run lasts minutes, and gunicorn imports
parts of the site again in every recycled worker; ``--commit REV`` measures an export of that
commit instead, so the figures belong to one known version of the code.
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from pathlib import Path

MEASURED = ("employees_site", "manage.py", "tests/bench")


def head(root: Path) -> str | None:
    completed = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=False
    )
    return completed.stdout.strip() or None


def uncommitted(root: Path) -> list[str]:
    """Paths of the measured code that differ from the commit (modified or untracked)."""
    completed = subprocess.run(
        ["git", "status", "--porcelain", "--", *MEASURED],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    return sorted(line[3:] for line in completed.stdout.splitlines() if line.strip())


def fingerprint(root: Path) -> str:
    """A hash of every file of the measured code, to tell whether it changed during a run."""
    digest = hashlib.sha256()
    for name in MEASURED:
        path = root / name
        files = [path] if path.is_file() else sorted(path.rglob("*"))
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(root)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()


def export(root: Path, revision: str) -> tuple[Path, str]:
    """The tree of ``revision`` in a new temp dir (git archive); returns it and the full sha."""
    completed = subprocess.run(
        ["git", "rev-parse", "--verify", f"{revision}^{{commit}}"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"bench: --commit {revision}: not a commit of this repository")
    sha = completed.stdout.strip()
    target = Path(tempfile.mkdtemp(prefix="employees-bench-source-"))
    archive = subprocess.run(
        ["git", "archive", "--format=tar", sha], cwd=root, capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    # The scanners make setup installs beside the repository, never in git: checkov's own
    # virtualenv and cfn-guard with its rules (without them figure 7's lint cannot run).
    for installed in (".venv-checkov", ".cfn-guard"):
        if (root / installed).is_dir():
            (target / installed).symlink_to(root / installed)
    return target, sha
