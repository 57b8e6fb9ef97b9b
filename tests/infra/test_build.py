"""`python -m infra build [--check]`: golden files, determinism, atomic writes, clear errors."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra import build as builder
from infra import cli, network, root

TEMPLATES_OUT = cli.REPO_ROOT / "templates_out"


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file in a directory (hidden ones too) with its bytes."""
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def one_line(text: str) -> str:
    """The single line of an error output (fails if there are more)."""
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_templates_out_matches_what_the_code_builds():
    """Golden files: every committed template equals a fresh build, and nothing else is there."""
    rendered = builder.render(root.RootParams())
    committed = {path.name: path.read_text() for path in TEMPLATES_OUT.glob("*.yaml")}
    assert sorted(committed) == sorted(rendered)
    for name, text in rendered.items():
        assert committed[name] == text, f"{name} is stale: run python -m infra build"


def test_rendering_is_deterministic_across_processes():
    """Two processes with different hash seeds render byte-identical templates."""
    script = (
        "import hashlib, json; from infra import build, root; "
        "print(json.dumps({n: hashlib.sha256(t.encode()).hexdigest() "
        "for n, t in build.render(root.RootParams()).items()}))"
    )
    digests = []
    for seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        digests.append(json.loads(result.stdout))
    here = {
        name: hashlib.sha256(text.encode()).hexdigest()
        for name, text in builder.render(root.RootParams()).items()
    }
    assert digests[0] == digests[1] == here


def test_rebuild_is_byte_identical_and_rewrites_nothing(tmp_path, capsys):
    """A second build finds nothing to change and leaves files and mtimes alone."""
    assert cli.main(["build", "--out", str(tmp_path)]) == 0
    first = snapshot(tmp_path)
    mtimes = {path.name: path.stat().st_mtime_ns for path in tmp_path.iterdir()}
    assert sorted(first) == sorted(f"{name}.yaml" for name in root.build_all(root.RootParams()))
    assert cli.main(["build", "--out", str(tmp_path)]) == 0
    assert snapshot(tmp_path) == first
    assert {path.name: path.stat().st_mtime_ns for path in tmp_path.iterdir()} == mtimes
    assert "0 changed" in capsys.readouterr().out


def test_failing_build_writes_nothing(tmp_path, monkeypatch, capsys):
    """If any stack fails to build, no file is written or touched, and the error is one line."""
    (tmp_path / "network.yaml").write_text("old\n")

    def broken(params):
        raise ValueError("simulated build failure")

    monkeypatch.setattr(network, "build", broken)
    assert cli.main(["build", "--out", str(tmp_path)]) == 1
    assert snapshot(tmp_path) == {"network.yaml": b"old\n"}
    assert "simulated build failure" in capsys.readouterr().err


def test_failing_write_leaves_the_directory_as_it_was(tmp_path, monkeypatch):
    """A failure while renaming leaves old files in place and no temporary files behind."""
    (tmp_path / "network.yaml").write_text("old\n")

    def failing_replace(source, target):
        raise OSError("simulated disk failure")

    monkeypatch.setattr(builder.os, "replace", failing_replace)
    with pytest.raises(OSError, match="simulated"):
        builder.write(builder.render(root.RootParams()), tmp_path)
    assert snapshot(tmp_path) == {"network.yaml": b"old\n"}


def test_check_names_stale_missing_and_extra_files(tmp_path, capsys):
    """--check exits 1 naming each stale, missing and extra file, and writes nothing."""
    assert cli.main(["build", "--out", str(tmp_path)]) == 0
    (tmp_path / "network.yaml").write_text("edited by hand\n")
    (tmp_path / "root.yaml").unlink()
    (tmp_path / "old.yaml").write_text("x\n")
    before = snapshot(tmp_path)
    capsys.readouterr()
    assert cli.main(["build", "--check", "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "stale:" in out and "network.yaml" in out
    assert "missing:" in out and "root.yaml" in out
    assert "extra:" in out and "old.yaml" in out
    assert snapshot(tmp_path) == before


def test_check_passes_on_a_fresh_build(tmp_path, capsys):
    """--check exits 0 right after a build."""
    assert cli.main(["build", "--out", str(tmp_path)]) == 0
    assert cli.main(["build", "--check", "--out", str(tmp_path)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_build_removes_generated_extras_but_keeps_foreign_files(tmp_path, capsys):
    """A template no stack builds any more is removed; a file infra/ did not write is kept."""
    (tmp_path / "gone.yaml").write_text(builder.HEADER + "Resources: {}\n")
    (tmp_path / "mine.yaml").write_text("hand: written\n")
    assert cli.main(["build", "--out", str(tmp_path)]) == 1
    built = [f"{name}.yaml" for name in root.build_all(root.RootParams())]
    assert sorted(snapshot(tmp_path)) == sorted(["mine.yaml", *built])
    out = capsys.readouterr().out
    assert "removed" in out and "gone.yaml" in out
    assert "kept" in out and "mine.yaml" in out


def test_build_params_apply_a_valid_option():
    """--param STACK.FIELD=VALUE sets a build option of one stack."""
    params = cli.build_params(["network.vpc_prefix_length=20"])
    assert params.network.vpc_prefix_length == 20


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["--param", "network.vpc_prefix_length=30"], "30"),
        (["--param", "network.vpc_prefix_length=abc"], "'abc'"),
        (["--param", "network.colour=blue"], "'colour'"),
        (["--param", "nowhere.x=1"], "'nowhere'"),
        (["--param", "novalue"], "'novalue'"),
        (["--bogus"], "--bogus"),
    ],
)
def test_bad_build_option_is_one_clear_line_and_writes_nothing(tmp_path, capsys, arguments, named):
    """A bad build option exits 2 with one line naming the value, and writes nothing."""
    out = tmp_path / "out"
    assert cli.main(["build", "--out", str(out), *arguments]) == 2
    captured = capsys.readouterr()
    assert named in one_line(captured.err)
    assert captured.out == ""
    assert not out.exists()


def test_out_that_is_a_file_is_rejected(tmp_path, capsys):
    """--out naming a file (or a directory without a parent) is a one-line error."""
    target = tmp_path / "file.txt"
    target.write_text("")
    assert cli.main(["build", "--out", str(target)]) == 2
    assert "is a file" in one_line(capsys.readouterr().err)
    assert cli.main(["build", "--out", str(tmp_path / "a" / "b")]) == 2
    assert "does not exist" in one_line(capsys.readouterr().err)
    assert not (tmp_path / "a").exists()


def test_module_entry_point_reports_bad_value_without_traceback(tmp_path):
    """`python -m infra build` with a bad value prints one line, no traceback, exit 2."""
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "infra",
            "build",
            "--out",
            str(out),
            "-p",
            "network.vpc_prefix_length=8",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=cli.REPO_ROOT,
    )
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "vpc_prefix_length=8" in line and "Traceback" not in result.stderr
    assert not out.exists()
