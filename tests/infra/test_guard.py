"""cfn-guard with the Control Tower rules: suppressions have reasons and cover what they name."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra import build as builder
from infra import cli, guard, lint, root
from infra.common import checkov_skip, guard_suppress

INSTALLED = guard.find_guard(cli.REPO_ROOT)
needs_guard = pytest.mark.skipif(INSTALLED is None, reason=guard.GUARD_INSTALL_HINT)


def test_every_suppression_has_a_reason(templates):
    """Each cfn-lint ignore, checkov skip and Guard suppression in the templates says why."""
    problems = [f"{name}: {p}" for name, t in templates.items() for p in guard.unexplained(t)]
    assert problems == []
    counted = sum(
        len(rules)
        for t in templates.values()
        for suppressions in (
            guard.guard_suppressions(t),
            guard.checkov_skips(t),
            guard.cfn_lint_ignores(t),
        )
        for rules in suppressions.values()
    )
    assert counted > 0, "no suppressions found: the readers look in the wrong place"


def test_a_suppression_without_a_reason_is_reported():
    """A checkov skip or Guard rule with an empty or missing reason is named."""
    template = {
        "Resources": {
            "Bucket": {
                "Type": "AWS::S3::Bucket",
                "Metadata": {
                    "checkov": {"skip": [{"id": "CKV_AWS_18"}]},
                    "guard": {"SuppressedRules": ["s3_bucket_logging_enabled_check"]},
                    "cfn-lint": {"config": {"ignore_checks": ["I1022"]}},
                },
            },
            "Other": {"Type": "AWS::S3::Bucket", "Metadata": guard_suppress("rule_x", " ")},
        }
    }
    assert guard.unexplained(template) == [
        "Bucket: cfn-lint I1022 is suppressed without a reason",
        "Bucket: checkov CKV_AWS_18 is suppressed without a reason",
        "Bucket: cfn-guard s3_bucket_logging_enabled_check is suppressed without a reason",
        "Other: cfn-guard rule_x is suppressed without a reason",
    ]


def test_suppression_helpers_refuse_a_missing_reason():
    """The template builders cannot write a suppression without a reason."""
    with pytest.raises(ValueError, match="guard_suppress takes"):
        guard_suppress("s3_bucket_logging_enabled_check")
    with pytest.raises(ValueError, match="checkov_skip takes"):
        checkov_skip("CKV_AWS_18", "")


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """A fresh build in a temporary directory."""
    builder.write(builder.render(root.RootParams()), tmp_path)
    return tmp_path


@needs_guard
def test_guard_is_clean_on_a_fresh_build_and_lists_its_suppressions(built):
    """Every failing (template, rule) pair is fixed or suppressed with the reason printed."""
    report = guard.guard(sorted(built.glob("*.yaml")), INSTALLED)
    assert report.findings == []
    assert report.suppressed
    assert all(line.rsplit(": ", 1)[1] for line in report.suppressed)


@needs_guard
def test_a_suppression_covers_only_its_own_resource_and_rule(built):
    """Without its Metadata a suppressed resource fails again; another rule stays suppressed."""
    path = built / "edge.yaml"
    template = yaml.safe_load(path.read_text())
    bucket = template["Resources"]["AccessLogBucket"]
    rules = bucket["Metadata"]["guard"]["SuppressedRules"]
    dropped = "s3_bucket_logging_enabled_check"
    assert dropped in rules
    bucket["Metadata"]["guard"]["SuppressedRules"] = [rule for rule in rules if rule != dropped]
    path.write_text(yaml.safe_dump(template))
    report = guard.guard([path], INSTALLED)
    assert [(f.rule, f.message.split(":")[0]) for f in report.findings] == [
        (dropped, "AccessLogBucket")
    ]


def test_lint_without_guard_says_how_to_install_it(monkeypatch, capsys):
    """Without cfn-guard, lint exits 2 with one line saying how to install it."""
    monkeypatch.setattr(lint, "find_checkov", lambda repo_root: "checkov")
    monkeypatch.setattr(guard, "find_guard", lambda repo_root: None)
    assert cli.main(["lint"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "make setup" in err and ".cfn-guard" in err


def test_a_broken_guard_is_a_clear_error(tmp_path):
    """cfn-guard that prints no JSON report gives one line naming its exit status."""
    executable = tmp_path / "cfn-guard"
    executable.write_text("#!/bin/sh\necho 'rules directory unreadable' >&2\nexit 5\n")
    executable.chmod(0o755)
    with pytest.raises(lint.LintUnavailable, match=r"exited 5 .*rules directory unreadable"):
        guard.guard([tmp_path / "x.yaml"], guard.Installed(str(executable), str(tmp_path)))
