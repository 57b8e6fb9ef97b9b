"""Run cfn-lint and checkov on built templates and collect what they find.

cfn-lint runs through its Python API with informational rules on (``-c I``) in every Region it
knows. checkov runs as a program from its own virtualenv (it pins dependencies of its own). The
root is also linted as a variant whose TemplateURLs are local paths to the children, so that
cfn-lint's E3043 checks that the root passes exactly the parameters each child declares.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

# On the local-path variant only: W3002 says the template needs `aws cloudformation package`,
# which is exactly what local TemplateURLs mean there.
VARIANT_IGNORED = ("W3002",)
NESTED_STACK = "AWS::CloudFormation::Stack"
CHECKOV_INSTALL_HINT = (
    "run `make setup` (it installs the pinned checkov of tools/checkov-requirements.txt into "
    ".venv-checkov/), or put checkov on PATH"
)


class LintUnavailable(Exception):
    """A linter is not installed; the message says how to install it."""


@dataclass(frozen=True)
class Finding:
    """One problem a linter reported in one file."""

    tool: str
    rule: str
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.tool} {self.rule}: {self.message}"


@dataclass(frozen=True)
class CheckovReport:
    """What checkov found: failed checks and parse errors, plus passed and skipped counts."""

    findings: list[Finding]
    passed: int
    skipped: list[str]


def cfn_lint(
    paths: Sequence[Path], *, ignore: Sequence[str] = (), label: str = ""
) -> list[Finding]:
    """cfn-lint findings (errors, warnings, informational) of each template, in every Region."""
    try:
        from cfnlint.api import ManualArgs, lint_file
        from cfnlint.helpers import REGIONS
    except ImportError as error:
        raise LintUnavailable(
            "cfn-lint is not installed: pip install -e '.[lint]' (or run `make setup`)"
        ) from error
    config = ManualArgs(include_checks=["I"], ignore_checks=list(ignore), regions=list(REGIONS))
    findings = []
    for path in paths:
        for match in lint_file(Path(path), config):
            findings.append(
                Finding(
                    tool="cfn-lint",
                    rule=match.rule.id,
                    file=label or str(path),
                    line=match.linenumber,
                    message=match.message,
                )
            )
    return findings


def child_file(template_url: object) -> str | None:
    """The child file name (``network.yaml``) at the end of a nested stack's TemplateURL."""
    if isinstance(template_url, dict) and set(template_url) == {"Fn::Sub"}:
        template_url = template_url["Fn::Sub"]
    if not isinstance(template_url, str):
        return None
    match = re.search(r"([A-Za-z0-9_-]+\.yaml)$", template_url)
    return match.group(1) if match else None


def local_root_variant(root_path: Path) -> tuple[dict, list[Finding]]:
    """The root template with each TemplateURL replaced by the child's absolute local path.

    Parameters that only built the TemplateURLs (the templates bucket and prefix) are dropped
    from the variant, since they are unused there.
    """
    template = yaml.safe_load(root_path.read_text(encoding="utf-8"))
    problems = []
    url_parameters: set[str] = set()
    for name, resource in sorted(template.get("Resources", {}).items()):
        if resource.get("Type") != NESTED_STACK:
            continue
        properties = resource.get("Properties", {})
        url = properties.get("TemplateURL")
        url_parameters.update(re.findall(r"\$\{(\w+)\}", json.dumps(url)))
        child = child_file(url)
        path = root_path.parent / child if child else None
        if path is None or not path.is_file():
            problems.append(
                Finding(
                    tool="nested-stacks",
                    rule="missing-child",
                    file=str(root_path),
                    line=None,
                    message=f"{name}'s TemplateURL names no template beside the root"
                    + (f" ({child})" if child else ""),
                )
            )
            continue
        properties["TemplateURL"] = str(path.resolve())
    _drop_unused(template, url_parameters)
    return template, problems


def _drop_unused(template: dict, names: set[str]) -> None:
    ignored = ("Metadata", "Parameters")
    used = json.dumps({key: value for key, value in template.items() if key not in ignored})
    interface = template.get("Metadata", {}).get("AWS::CloudFormation::Interface", {})
    for name in names:
        if json.dumps({"Ref": name}) in used or "${" + name + "}" in used:
            continue
        template.get("Parameters", {}).pop(name, None)
        interface.get("ParameterLabels", {}).pop(name, None)
        for group in interface.get("ParameterGroups", []):
            group["Parameters"] = [other for other in group["Parameters"] if other != name]
        interface["ParameterGroups"] = [
            group for group in interface.get("ParameterGroups", []) if group["Parameters"]
        ]


def nested_parameters(root_path: Path) -> list[Finding]:
    """Lint the local-path variant of the root: E3043 compares passed and declared parameters."""
    template, problems = local_root_variant(root_path)
    with tempfile.TemporaryDirectory(prefix="infra-lint-") as directory:
        variant = Path(directory) / "root-local-children.json"
        variant.write_text(json.dumps(template, indent=1), encoding="utf-8")
        findings = cfn_lint(
            [variant], ignore=VARIANT_IGNORED, label=f"{root_path} (local-path variant)"
        )
    # Line numbers would point into the temporary variant; the messages carry the path.
    return problems + [dataclasses.replace(finding, line=None) for finding in findings]


def find_checkov(repo_root: Path) -> str | None:
    """checkov from the repository's .venv-checkov/, else from PATH."""
    local = repo_root / ".venv-checkov" / "bin" / "checkov"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which("checkov")


def checkov(paths: Sequence[Path], executable: str | None) -> CheckovReport:
    """Run checkov's CloudFormation checks on the templates."""
    if executable is None:
        raise LintUnavailable(f"checkov is not installed: {CHECKOV_INSTALL_HINT}")
    # --skip-download: never call checkov's vendor API (it would try, and print a traceback).
    command = [
        executable,
        "--skip-download",
        "--framework",
        "cloudformation",
        "-o",
        "json",
        "-f",
        *map(str, paths),
    ]
    result = subprocess.run(  # noqa: S603 (a fixed argument list, no shell)
        command, capture_output=True, text=True, check=False
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise LintUnavailable(
            f"checkov exited {result.returncode} without a JSON report: "
            + (detail[-1] if detail else "no output")
        ) from None
    reports = report if isinstance(report, list) else [report]
    findings: list[Finding] = []
    passed = 0
    skipped: list[str] = []
    for one in reports:
        results = one.get("results", {})
        passed += len(results.get("passed_checks", []))
        for check in results.get("failed_checks", []):
            lines = check.get("file_line_range") or [None]
            findings.append(
                Finding(
                    tool="checkov",
                    rule=check["check_id"],
                    file=_checked_file(check, paths),
                    line=lines[0],
                    message=f"{check['resource']}: {check['check_name']}",
                )
            )
        for check in results.get("skipped_checks", []):
            skipped.append(
                f"{_checked_file(check, paths)}: {check['check_id']} on {check['resource']}: "
                f"{_suppress_comment(check) or 'no reason given'}"
            )
        for path in results.get("parsing_errors", []):
            findings.append(Finding("checkov", "parse-error", path, None, "could not parse"))
    return CheckovReport(findings=findings, passed=passed, skipped=skipped)


def _checked_file(check: dict, paths: Sequence[Path]) -> str:
    """checkov reports paths relative to its own idea of a root; map back to a given path."""
    reported = check.get("file_abs_path") or check.get("file_path", "")
    for path in paths:
        if Path(reported).name == Path(path).name:
            return str(path)
    return reported


def _suppress_comment(check: dict) -> str | None:
    """The reason of a skip: top-level in some checkov versions, under check_result in others."""
    return check.get("suppress_comment") or (check.get("check_result") or {}).get(
        "suppress_comment"
    )
