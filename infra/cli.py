"""``python -m infra build [--check]``, ``python -m infra docs [--check]`` and
``python -m infra lint``: the command-line edge.

Errors are caught here once: a bad option or build parameter prints one line and exits 2, a
stale directory or a lint finding exits 1. ``--debug`` re-raises instead, for a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
import typing
from collections.abc import Sequence
from pathlib import Path

from . import build as builder
from . import docs, guard, lint, root, update_path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "templates_out"
DEFAULT_DOCS = REPO_ROOT / "docs"

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A bad option or build parameter: the message names the value and what is allowed."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> typing.NoReturn:
        # One line, no usage block: the message names the bad option; --help shows the rest.
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m infra", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    build = commands.add_parser("build", help="write every template to the output directory")
    build.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 naming the files that differ from what infra/ builds",
    )
    build.add_argument(
        "--param",
        "-p",
        action="append",
        default=[],
        metavar="STACK.FIELD=VALUE",
        help="a build option, such as network.vpc_prefix_length=20 (repeatable)",
    )
    build.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    build.add_argument(
        "--docs",
        type=Path,
        default=None,
        help="where the parameter reference and architecture picture go "
        "(default: docs/ when --out is the default; none otherwise)",
    )

    document = commands.add_parser(
        "docs", help="draw the parameter reference and the architecture picture from the templates"
    )
    document.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 naming the stale documents"
    )
    document.add_argument("--out", type=Path, default=DEFAULT_OUT, help="templates directory")
    document.add_argument("--docs", type=Path, default=DEFAULT_DOCS, help="documents directory")

    check = commands.add_parser(
        "lint",
        help="run cfn-lint, checkov, cfn-guard and the update-path check on the built templates",
    )
    check.add_argument("--out", type=Path, default=DEFAULT_OUT, help="templates directory")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    # Accepted anywhere on the line, before or after the command.
    debug = "--debug" in arguments
    arguments = [argument for argument in arguments if argument != "--debug"]
    try:
        options = _parser().parse_args(arguments)
        if options.command == "build":
            return _build(options)
        if options.command == "docs":
            return _docs(options)
        return _lint(options)
    except (UsageError, lint.LintUnavailable, docs.DocsError) as error:
        if debug:
            raise
        print(f"python -m infra: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as error:
        if debug:
            raise
        print(f"python -m infra: error: {type(error).__name__}: {error}", file=sys.stderr)
        print("python -m infra: run again with --debug for a traceback", file=sys.stderr)
        return EXIT_FINDINGS


def build_params(assignments: Sequence[str]) -> root.RootParams:
    """RootParams with each ``STACK.FIELD=VALUE`` applied; UsageError naming a bad one."""
    params = root.RootParams()
    stacks = {field.name for field in dataclasses.fields(params)}
    for assignment in assignments:
        key, equals, text = assignment.partition("=")
        stack, dot, name = key.partition(".")
        if not equals or not dot:
            raise UsageError(f"--param {assignment!r}: expected STACK.FIELD=VALUE")
        if stack not in stacks:
            raise UsageError(f"--param {assignment!r}: unknown stack {stack!r} ({_names(stacks)})")
        current = getattr(params, stack)
        fields = {field.name for field in dataclasses.fields(current)}
        if name not in fields:
            raise UsageError(
                f"--param {assignment!r}: {stack} has no option {name!r} ({_names(fields)})"
            )
        kind = typing.get_type_hints(type(current))[name]
        try:
            value = _convert(text, kind)
            params = dataclasses.replace(
                params, **{stack: dataclasses.replace(current, **{name: value})}
            )
        except ValueError as error:
            raise UsageError(f"--param {assignment!r}: {error}") from None
    return params


def _convert(text: str, kind: type) -> object:
    if kind is bool:
        if text.lower() not in ("true", "false"):
            raise ValueError(f"{text!r} is not true or false")
        return text.lower() == "true"
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not an integer") from None
    return kind(text)


def _names(items: typing.Iterable[str]) -> str:
    return "choose " + ", ".join(sorted(items))


def _check_out(out: Path, *, must_exist: bool) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: is a file, not a directory")
    if must_exist and not out.is_dir():
        raise UsageError(f"--out {out}: no such directory (run `python -m infra build` first)")
    if not out.exists() and not out.parent.is_dir():
        raise UsageError(f"--out {out}: its parent directory {out.parent} does not exist")


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _build(options: argparse.Namespace) -> int:
    out: Path = options.out
    _check_out(out, must_exist=False)
    params = build_params(options.param)
    rendered = builder.render(params)
    docs_dir = options.docs or (DEFAULT_DOCS if out.resolve() == DEFAULT_OUT else None)
    documents = docs.sources(docs.load(rendered)) if docs_dir else {}
    shown = Path(_display(out))
    if options.check:
        differences = builder.compare(rendered, out)
        for line in differences.lines(shown):
            print(line)
        stale_docs = docs.stale(documents, docs_dir) if docs_dir else []
        for name in stale_docs:
            print(f"stale: {Path(_display(docs_dir)) / name} differs from what infra/ draws")
        if differences or stale_docs:
            print("templates or docs are out of date: run `python -m infra build`")
            return EXIT_FINDINGS
        print(f"{len(rendered)} templates in {shown} are up to date")
        return EXIT_OK
    changes = builder.write(rendered, out)
    for name in changes.stale + changes.missing:
        print(f"wrote {shown / name}")
    for name in changes.extra:
        print(f"removed {shown / name} (no stack builds it any more)")
    kept = builder.compare(rendered, out).extra
    for name in kept:
        print(f"kept {shown / name}: not generated by infra/, remove it by hand")
    if docs_dir:
        for name in docs.write(documents, docs_dir):
            print(f"wrote {Path(_display(docs_dir)) / name}")
    print(f"{len(rendered)} templates in {shown}, {len(changes.stale + changes.missing)} changed")
    return EXIT_FINDINGS if kept else EXIT_OK


def _docs(options: argparse.Namespace) -> int:
    out: Path = options.out
    _check_out(out, must_exist=True)
    templates = docs.read(out)
    if "root" not in templates:
        raise UsageError(f"--out {out}: no root.yaml (run `python -m infra build` first)")
    documents = docs.sources(templates)
    shown = Path(_display(options.docs))
    if options.check:
        stale_docs = docs.stale(documents, options.docs)
        for name in stale_docs:
            print(f"stale: {shown / name} differs from what infra/ draws")
        if stale_docs:
            print("docs are out of date: run `python -m infra docs`")
            return EXIT_FINDINGS
        print(f"the documents in {shown} are up to date")
        return EXIT_OK
    for name in docs.write(documents, options.docs):
        print(f"wrote {shown / name}")
    print(f"documents in {shown} drawn from {_display(out)}")
    return EXIT_OK


def _lint(options: argparse.Namespace) -> int:
    out: Path = options.out
    _check_out(out, must_exist=True)
    paths = [Path(_display(path)) for path in sorted(out.glob(f"*{builder.SUFFIX}"))]
    if not paths:
        raise UsageError(f"--out {out}: no templates (run `python -m infra build` first)")
    executable = lint.find_checkov(REPO_ROOT)
    if executable is None:
        raise lint.LintUnavailable(f"checkov is not installed: {lint.CHECKOV_INSTALL_HINT}")
    installed = guard.find_guard(REPO_ROOT)
    if installed is None:
        raise lint.LintUnavailable(f"cfn-guard is not installed: {guard.GUARD_INSTALL_HINT}")
    started = time.monotonic()
    findings = lint.cfn_lint(paths)
    root_path = out / f"root{builder.SUFFIX}"
    if root_path.is_file():
        findings += lint.nested_parameters(Path(_display(root_path)))
    schemas = update_path.Schemas()
    findings += [finding for path in paths for finding in update_path.check_file(path, schemas)]
    report = lint.checkov(paths, executable)
    findings += report.findings
    guarded = guard.guard(paths, installed)
    findings += guarded.findings
    for finding in findings:
        print(finding)
    for skip in report.skipped:
        print(f"checkov skipped (reason in the template): {skip}")
    for suppressed in guarded.suppressed:
        print(f"cfn-guard suppressed (reason in the template): {suppressed}")
    seconds = time.monotonic() - started
    print(
        f"lint: {len(paths)} templates, {len(findings)} findings "
        f"(checkov: {report.passed} passed, {len(report.skipped)} skipped; "
        f"cfn-guard: {len(guarded.suppressed)} suppressed) in {seconds:.1f}s"
    )
    return EXIT_FINDINGS if findings else EXIT_OK
