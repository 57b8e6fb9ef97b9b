"""`python -m infra lint`: clean on templates_out/, and it catches what it promises to catch."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import yaml

from infra import build as builder
from infra import cli, guard, lint, root


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """A fresh build in a temporary directory."""
    builder.write(builder.render(root.RootParams()), tmp_path)
    return tmp_path


def edit(path: Path, change) -> None:
    """Apply ``change`` to the template dict in a YAML file."""
    template = yaml.safe_load(path.read_text())
    change(template)
    path.write_text(yaml.safe_dump(template))


def test_lint_passes_on_templates_out(capsys):
    """cfn-lint (-c I, also on the local-path root), checkov and cfn-guard find nothing."""
    if lint.find_checkov(cli.REPO_ROOT) is None:
        pytest.skip(f"checkov is not installed: {lint.CHECKOV_INSTALL_HINT}")
    if guard.find_guard(cli.REPO_ROOT) is None:
        pytest.skip(f"cfn-guard is not installed: {guard.GUARD_INSTALL_HINT}")
    status = cli.main(["lint"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "0 findings" in out


def test_nested_parameter_mismatch_is_caught(built):
    """A child that declares a parameter the root does not pass, or lacks one it does: E3043."""

    def mismatch(template):
        template["Parameters"]["Extra"] = {"Type": "String", "Description": "new"}
        del template["Parameters"]["AzCount"]

    edit(built / "network.yaml", mismatch)
    findings = lint.nested_parameters(built / "root.yaml")
    messages = [f.message for f in findings if f.rule == "E3043"]
    assert any('"Extra"' in message for message in messages), findings
    assert any('"AzCount"' in message for message in messages), findings


def test_nested_parameters_clean_variant_has_no_findings(built):
    """The local-path variant of a fresh root is clean, W3002 aside."""
    assert lint.nested_parameters(built / "root.yaml") == []


def test_variant_points_at_local_children_and_drops_url_parameters(built):
    """The variant's TemplateURLs are local paths and the bucket/prefix parameters are gone."""
    variant, problems = lint.local_root_variant(built / "root.yaml")
    assert problems == []
    url = variant["Resources"]["NetworkStack"]["Properties"]["TemplateURL"]
    assert Path(url) == (built / "network.yaml").resolve()
    assert root.TEMPLATES_BUCKET not in variant["Parameters"]
    assert root.TEMPLATES_PREFIX not in variant["Parameters"]


def test_missing_child_template_is_a_finding(built):
    """A nested stack whose template is not beside the root is reported, not skipped."""
    (built / "network.yaml").unlink()
    findings = lint.nested_parameters(built / "root.yaml")
    assert [f.rule for f in findings] == ["missing-child"]


def test_cfn_lint_findings_make_lint_fail(built, monkeypatch, capsys):
    """A cfn-lint finding is printed and lint exits 1 (checkov replaced by a clean stub)."""
    edit(built / "network.yaml", lambda t: t["Parameters"].update(Unused={"Type": "String"}))
    monkeypatch.setattr(lint, "checkov", lambda paths, exe: lint.CheckovReport([], 0, []))
    monkeypatch.setattr(lint, "find_checkov", lambda repo_root: "checkov")
    assert cli.main(["lint", "--out", str(built)]) == 1
    out = capsys.readouterr().out
    assert "W2001" in out and "Unused" in out


def fake_checkov(directory: Path, report: dict) -> str:
    """An executable that prints a fixed checkov JSON report."""
    script = directory / "checkov"
    script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{json.dumps(report)}\nEOF\nexit 1\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_checkov_failed_checks_and_skips_are_reported(tmp_path):
    """Failed checkov checks become findings; skips are listed with their reasons."""
    check = {
        "check_id": "CKV_AWS_158",
        "check_name": "Ensure that CloudWatch Log Group is encrypted by KMS",
        "resource": "AWS::Logs::LogGroup.Group",
        "file_path": "/network.yaml",
        "file_line_range": [10, 20],
    }
    skip = {**check, "check_id": "CKV_AWS_66", "suppress_comment": "short-lived"}
    report = {
        "results": {"passed_checks": [{}], "failed_checks": [check], "skipped_checks": [skip]}
    }
    result = lint.checkov([Path("out/network.yaml")], fake_checkov(tmp_path, report))
    assert [(f.rule, f.file, f.line) for f in result.findings] == [
        ("CKV_AWS_158", "out/network.yaml", 10)
    ]
    assert result.passed == 1
    assert result.skipped == [
        "out/network.yaml: CKV_AWS_66 on AWS::Logs::LogGroup.Group: short-lived"
    ]


def test_lint_without_checkov_says_how_to_install_it(monkeypatch, capsys):
    """Without checkov, lint exits 2 with one line saying how to install it."""
    monkeypatch.setattr(lint, "find_checkov", lambda repo_root: None)
    assert cli.main(["lint"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "make setup" in err and ".venv-checkov" in err


def test_lint_finds_checkov_in_the_repository_venv(tmp_path):
    """checkov is taken from <repo>/.venv-checkov/bin before PATH."""
    executable = tmp_path / ".venv-checkov" / "bin" / "checkov"
    executable.parent.mkdir(parents=True)
    executable.write_text("#!/bin/sh\n")
    executable.chmod(0o755)
    assert lint.find_checkov(tmp_path) == str(executable)


def test_lint_of_an_empty_directory_is_a_clear_error(tmp_path, capsys):
    """Lint with no templates to read says to build first."""
    assert cli.main(["lint", "--out", str(tmp_path)]) == 2
    assert "python -m infra build" in capsys.readouterr().err
