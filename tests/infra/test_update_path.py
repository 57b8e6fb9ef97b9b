"""The update-path check (issue 16): parameter transitions CloudFormation could not apply, or
that would replace or delete what holds data; one fixture per kind of finding."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra import build as builder
from infra import cli, lint, root, update_path

FIXTURES = Path(__file__).parent / "fixtures" / "update_path"


@pytest.fixture(scope="module")
def schemas() -> update_path.Schemas:
    """The resource schemas cfn-lint ships, read once."""
    return update_path.Schemas()


def findings(name: str, schemas: update_path.Schemas) -> list[lint.Finding]:
    """Findings of one fixture template."""
    return update_path.check_file(FIXTURES / name, schemas)


def test_two_port_80_listeners_swapped_by_the_certificate_clash(schemas):
    """Today's edge.yaml before issue 16: setting or clearing CertificateArn creates the other
    port-80 listener while the first still holds the port; both directions are reported."""
    found = findings("edge-two-port-80-listeners.yaml", schemas)
    assert {f.rule for f in found} == {"slot-clash"}
    messages = [f.message for f in found]
    to_https = [m for m in messages if m.startswith("CertificateArn '' -> ")]
    to_http = [m for m in messages if m.startswith("CertificateArn '<") and "-> ''" in m]
    assert to_https and to_http, messages
    assert "HttpRedirectListener is created while HttpForwardListener" in to_https[0]
    assert "Port=80" in to_https[0]
    assert "HttpForwardListener is created while HttpRedirectListener" in to_http[0]


def test_built_templates_have_no_update_path_findings(templates, schemas):
    """Every template infra/ builds can take every parameter change the check tries."""
    for name, template in templates.items():
        assert update_path.check(template, name, schemas) == [], name


def test_one_record_name_in_one_zone_is_one_slot(schemas):
    """Two records of one name, type and zone swapped by a Condition clash (schema identifier)."""
    found = findings("record-name-clash.yaml", schemas)
    assert {f.rule for f in found} == {"slot-clash"}
    assert any(
        f.message.startswith("Target 'Primary' -> 'Standby'")
        and "StandbyRecord is created while PrimaryRecord" in f.message
        for f in found
    ), found


def test_a_given_log_group_name_is_one_slot(schemas):
    """Two log groups of one name clash; retained, their removal is no data loss."""
    found = findings("log-group-name-clash.yaml", schemas)
    assert {f.rule for f in found} == {"slot-clash"}
    assert any("LongLogs is created while ShortLogs" in f.message for f in found), found


def test_a_create_only_property_of_a_stateful_resource_is_a_replacement(schemas):
    """DatabaseName is create-only on AWS::RDS::DBCluster (cfn-lint's schema): a new value
    replaces the cluster, in both directions."""
    found = findings("replaced-cluster.yaml", schemas)
    assert sorted(f.message for f in found) == [
        "DbName 'app' -> 'other': Cluster (AWS::RDS::DBCluster) is replaced: "
        "create-only DatabaseName changes",
        "DbName 'other' -> 'app': Cluster (AWS::RDS::DBCluster) is replaced: "
        "create-only DatabaseName changes",
    ]
    assert {f.rule for f in found} == {"replacement"}


def test_a_data_holding_resource_that_goes_with_its_switch_is_data_loss(schemas):
    """Switching Logs off deletes a log group whose DeletionPolicy is Delete; on is fine."""
    found = findings("log-group-dropped.yaml", schemas)
    assert [(f.rule, f.message.split(":")[0]) for f in found] == [
        ("data-loss", "Logs 'Enabled' -> 'Disabled'")
    ]
    assert "DeletionPolicy Delete" in found[0].message


def test_a_state_the_rules_refuse_is_not_an_update(schemas):
    """When a Rule refuses a certificate, CloudFormation never reaches the listener swap."""
    template = yaml.safe_load((FIXTURES / "edge-two-port-80-listeners.yaml").read_text())
    template["Rules"] = {
        "NoCertificate": {
            "Assertions": [
                {
                    "Assert": {"Fn::Equals": [{"Ref": "CertificateArn"}, ""]},
                    "AssertDescription": "no certificate here",
                }
            ]
        }
    }
    assert update_path.check(template, "edge.yaml", schemas) == []


def test_lint_runs_the_update_path_check_and_fails_on_a_finding(tmp_path, monkeypatch, capsys):
    """`python -m infra lint` prints the listener clash of the old edge.yaml and exits 1
    (checkov replaced by a clean stub; cfn-lint finds nothing in that template)."""
    builder.write(builder.render(root.RootParams()), tmp_path)
    # The old listeners in today's edge template: the parameters the root passes stay declared.
    edge = yaml.safe_load((tmp_path / "edge.yaml").read_text())
    old = yaml.safe_load((FIXTURES / "edge-two-port-80-listeners.yaml").read_text())
    listeners = {k: v for k, v in old["Resources"].items() if k.startswith("Http")}
    edge["Resources"] = {
        **{k: v for k, v in edge["Resources"].items() if not k.startswith("Http")},
        **listeners,
    }
    edge["Conditions"] = {**old["Conditions"], **edge["Conditions"]}
    (tmp_path / "edge.yaml").write_text(yaml.safe_dump(edge, sort_keys=True))
    monkeypatch.setattr(lint, "checkov", lambda paths, exe: lint.CheckovReport([], 0, []))
    monkeypatch.setattr(lint, "find_checkov", lambda repo_root: "checkov")
    assert cli.main(["lint", "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "update-path slot-clash: CertificateArn" in out
    assert "cfn-lint" not in out.split("lint:")[0]
