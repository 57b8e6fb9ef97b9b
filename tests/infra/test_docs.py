"""The parameter reference and the architecture picture are drawn from the compiled templates."""

import html
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from infra import docs

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = {
    path.stem: yaml.safe_load(path.read_text()) for path in (ROOT / "templates_out").glob("*.yaml")
}
SVG = "{http://www.w3.org/2000/svg}"

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="needs graphviz (make test)")


@pytest.fixture(scope="module")
def documents():
    sources = docs.sources(TEMPLATES)
    return {**sources, **docs.pictures(sources["architecture.dot"])}


def _titles(svg: bytes, kind: str) -> list[str]:
    tree = ET.fromstring(svg)  # noqa: S314 - our own graphviz output
    return [
        html.unescape(group.find(f"{SVG}title").text)
        for group in tree.iter(f"{SVG}g")
        if group.get("class") == kind
    ]


def _edges(svg: bytes) -> set[tuple[str, str]]:
    """(from->to, label) of every arrow in the picture."""
    tree = ET.fromstring(svg)  # noqa: S314 - our own graphviz output
    return {
        (
            html.unescape(group.find(f"{SVG}title").text),
            " ".join(text.text or "" for text in group.iter(f"{SVG}text")),
        )
        for group in tree.iter(f"{SVG}g")
        if group.get("class") == "edge"
    }


def test_every_nested_stack_is_drawn(documents):
    """Each AWS::CloudFormation::Stack of the root is a box of its own in the picture."""
    nested = [
        name
        for name, resource in TEMPLATES["root"]["Resources"].items()
        if resource["Type"] == "AWS::CloudFormation::Stack"
    ]
    assert len(nested) >= 5
    clusters = _titles(documents["architecture.svg"], "cluster")
    assert sorted(f"cluster_{name}" for name in nested) == sorted(clusters)


def test_every_security_group_path_is_drawn_with_its_port(documents):
    """Each ingress rule of every template is an arrow from its source, labelled with its port."""
    expected = set()
    for stack, template in TEMPLATES.items():
        for name, resource in template.get("Resources", {}).items():
            properties = resource["Properties"]
            if resource["Type"] == "AWS::EC2::SecurityGroupIngress":
                rules = [(properties["GroupId"]["Fn::GetAtt"][0], properties)]
            elif resource["Type"] == "AWS::EC2::SecurityGroup":
                rules = [(name, rule) for rule in properties.get("SecurityGroupIngress", [])]
            else:
                continue
            for target, rule in rules:
                if "SourceSecurityGroupId" in rule:
                    source = f"{stack}.{rule['SourceSecurityGroupId']['Fn::GetAtt'][0]}"
                else:
                    source = f"cidr:{rule['CidrIp']['Ref']}"
                expected.add((f"{source}->{stack}.{target}", f"tcp {rule['FromPort']}"))
    assert len(expected) >= 4  # 80 and 443 to the ALB, 8000 to the app, 3306 to the database
    assert expected <= _edges(documents["architecture.svg"])


def test_parameter_reference_lists_every_parameter_of_every_stack(documents):
    """Each template's section names every parameter it declares."""
    reference = documents["parameters.md"].decode()
    sections = dict(re.findall(r"## `(\w+)\.yaml`\n(.*?)(?=\n## |\Z)", reference, re.S))
    assert sorted(sections) == sorted(TEMPLATES)
    for name, template in TEMPLATES.items():
        for parameter in template.get("Parameters", {}):
            assert f"| `{parameter}` |" in sections[name], (name, parameter)


def test_documents_are_deterministic_and_committed(documents):
    """Drawing again gives the same bytes, and docs/ holds the same sources and both pictures."""
    sources = docs.sources(TEMPLATES)
    assert {**sources, **docs.pictures(sources["architecture.dot"])} == documents
    assert docs.stale(sources, ROOT / "docs") == []


def test_a_changed_source_redraws_the_pictures_and_another_graphviz_is_not_stale(tmp_path):
    """Pictures follow their .dot: redrawn when it changes, never compared byte for byte."""
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    svg = tmp_path / "docs" / "architecture.svg"
    svg.write_bytes(b"<svg>drawn by another graphviz</svg>")
    sources = docs.sources(TEMPLATES)
    assert docs.stale(sources, tmp_path / "docs") == []
    (tmp_path / "docs" / "architecture.dot").write_text("digraph stale {}\n")
    written = docs.write(sources, tmp_path / "docs")
    assert written == ["architecture.dot", "architecture.png", "architecture.svg"]
    assert svg.read_bytes() == docs.pictures(sources["architecture.dot"])["architecture.svg"]


def _infra(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "infra", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )


def test_check_names_a_stale_document(tmp_path):
    """docs --check exits 1 naming a document that differs, and writes nothing."""
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    (tmp_path / "docs" / "parameters.md").write_text("edited by hand\n")
    result = _infra("docs", "--check", "--docs", str(tmp_path / "docs"))
    assert result.returncode == 1
    assert "parameters.md differs" in result.stdout
    assert (tmp_path / "docs" / "parameters.md").read_text() == "edited by hand\n"


def test_missing_graphviz_is_one_clear_line(tmp_path):
    """Without graphviz's dot on PATH the command says what to install, without a traceback."""
    env = {**os.environ, "PATH": str(tmp_path)}
    result = _infra("docs", "--docs", str(tmp_path / "docs"), env=env)
    assert result.returncode == 2
    assert "graphviz" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "docs").exists()
