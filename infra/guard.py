"""Run cfn-guard with AWS Control Tower's proactive-control rules, honouring suppressions.

The Control Tower rules do not read suppressions themselves, so this module does: a failing
(template, rule) pair is suppressed when every resource the failure names lists the rule in its
``Metadata: guard: SuppressedRules`` with a reason under ``Reasons``. Any other failure is a
finding. Suppressions without a reason (Guard's or checkov's) are findings too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from .lint import Finding, LintUnavailable

GUARD_DIR = ".cfn-guard"
GUARD_INSTALL_HINT = (
    "run `make setup` (it installs the pinned cfn-guard and Control Tower rules of "
    "tools/install-cfn-guard.sh into .cfn-guard/)"
)
# cfn-guard's exit status: 0 every rule passed, 19 some rule failed; anything else is an error.
GUARD_PASS, GUARD_FAIL = 0, 19
# It takes a few seconds for every template; far more means it hangs.
GUARD_TIMEOUT_SECONDS = 300
_RESOURCE_PATH = re.compile(r"/Resources/([A-Za-z0-9]+)")
_CONTROL = re.compile(r"\[CT\.[A-Z0-9.]+\]:[^\n]*")


@dataclass(frozen=True)
class Installed:
    """Where cfn-guard and the rules directory are."""

    executable: str
    rules: str


@dataclass(frozen=True)
class GuardReport:
    """What cfn-guard found: unsuppressed failures, and the suppressed ones with their reasons."""

    findings: list[Finding]
    suppressed: list[str]


def find_guard(repo_root: Path) -> Installed | None:
    """cfn-guard and the Control Tower rules from the repository's .cfn-guard/, if installed."""
    directory = repo_root / GUARD_DIR
    executable, rules = directory / "cfn-guard", directory / "rules"
    if executable.is_file() and os.access(executable, os.X_OK) and rules.is_dir():
        return Installed(str(executable), str(rules))
    return None


def _per_resource(template: dict, tool: str, read) -> dict[str, dict[str, str]]:
    """Per resource, what ``read`` finds in its Metadata under ``tool``: {rule: reason}, with
    "" where no reason is given."""
    found = {}
    for name, resource in template.get("Resources", {}).items():
        rules = read((resource.get("Metadata") or {}).get(tool) or {})
        if rules:
            found[name] = {str(rule): str(reason or "").strip() for rule, reason in rules}
    return found


def guard_suppressions(template: dict) -> dict[str, dict[str, str]]:
    """Per resource, the Guard rules it suppresses and their reasons."""

    def read(metadata: dict) -> list:
        reasons = metadata.get("Reasons") or {}
        return [(rule, reasons.get(rule)) for rule in metadata.get("SuppressedRules") or []]

    return _per_resource(template, "guard", read)


def checkov_skips(template: dict) -> dict[str, dict[str, str]]:
    """Per resource, the checkov checks it skips and their reasons."""

    def read(metadata: dict) -> list:
        return [(skip.get("id"), skip.get("comment")) for skip in metadata.get("skip") or []]

    return _per_resource(template, "checkov", read)


def cfn_lint_ignores(template: dict) -> dict[str, dict[str, str]]:
    """Per resource, the cfn-lint rules it ignores and their reasons."""

    def read(metadata: dict) -> list:
        reasons = metadata.get("reasons") or {}
        ignored = (metadata.get("config") or {}).get("ignore_checks") or []
        return [(rule, reasons.get(rule)) for rule in ignored]

    return _per_resource(template, "cfn-lint", read)


def unexplained(template: dict) -> list[str]:
    """Every suppression (cfn-lint, checkov or Guard) in a template that gives no reason."""
    return [
        f"{resource}: {tool} {rule} is suppressed without a reason"
        for tool, suppressions in (
            ("cfn-lint", cfn_lint_ignores(template)),
            ("checkov", checkov_skips(template)),
            ("cfn-guard", guard_suppressions(template)),
        )
        for resource, rules in sorted(suppressions.items())
        for rule, reason in sorted(rules.items())
        if not reason
    ]


def guard(paths: Sequence[Path], installed: Installed | None) -> GuardReport:
    """Run the Control Tower rules on the templates and apply each resource's suppressions."""
    if installed is None:
        raise LintUnavailable(f"cfn-guard is not installed: {GUARD_INSTALL_HINT}")
    command = [installed.executable, "validate", "-r", installed.rules]
    command += ["-o", "json", "-z", "-S", "none"]
    for path in paths:
        command += ["-d", str(path)]
    try:
        result = subprocess.run(  # noqa: S603 (a fixed argument list, no shell)
            command, capture_output=True, text=True, check=False, timeout=GUARD_TIMEOUT_SECONDS
        )
    except subprocess.TimeoutExpired:
        raise LintUnavailable(
            f"cfn-guard did not finish in {GUARD_TIMEOUT_SECONDS} s; run it by hand to see why: "
            + " ".join(command)
        ) from None
    try:
        if result.returncode not in (GUARD_PASS, GUARD_FAIL):
            raise ValueError
        reports = json.loads(result.stdout)
    except ValueError:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise LintUnavailable(
            f"cfn-guard exited {result.returncode} without a JSON report: "
            + (detail[-1] if detail else "no output")
        ) from None
    findings: list[Finding] = []
    suppressed: list[str] = []
    for report in reports:
        path = _given_path(report["name"], paths)
        template = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        problems = unexplained(template)
        findings += [Finding("suppression", "no-reason", path, None, p) for p in problems]
        suppressions = guard_suppressions(template)
        for rule, failure in sorted(_failures(report).items()):
            named = sorted(set(_RESOURCE_PATH.findall(json.dumps(failure))))
            open_ = [name for name in named if not suppressions.get(name, {}).get(rule)]
            if named and not open_:
                for name in named:
                    suppressed.append(f"{path}: {rule} on {name}: {suppressions[name][rule]}")
                continue
            control = _CONTROL.search(json.dumps(failure).replace("\\n", "\n"))
            where = ", ".join(open_) if named else "the template"
            findings.append(
                Finding(
                    tool="cfn-guard",
                    rule=rule,
                    file=path,
                    line=None,
                    message=f"{where}: {control.group(0).strip() if control else 'not compliant'}",
                )
            )
    return GuardReport(findings=findings, suppressed=suppressed)


def _failures(report: dict) -> dict[str, list[dict]]:
    """The not-compliant rules of one file, by rule name (a rule may be reported twice)."""
    failures: dict[str, list[dict]] = {}
    for item in report.get("not_compliant", []):
        rule = item.get("Rule") or {}
        failures.setdefault(rule.get("name", "unknown"), []).append(rule)
    return failures


def _given_path(reported: str, paths: Sequence[Path]) -> str:
    """cfn-guard names files as it opened them; map back to the path as given."""
    for path in paths:
        if Path(reported).resolve() == Path(path).resolve():
            return str(path)
    return reported
