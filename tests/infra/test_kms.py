"""KMS key policies: grants only for AWS resources, and CloudWatch Logs as AWS documents it."""

from __future__ import annotations

from .helpers import resources


def key_policies(templates: dict) -> dict[str, list[dict]]:
    """Every KMS key's policy statements, by "stack/key"."""
    found = {
        f"{stack}/{name}": key["Properties"]["KeyPolicy"]["Statement"]
        for stack, template in templates.items()
        for name, key in resources(template, "AWS::KMS::Key").items()
    }
    assert len(found) >= 4, found
    return found


def actions(statement: dict) -> list[str]:
    """A statement's actions as a list."""
    action = statement["Action"]
    return [action] if isinstance(action, str) else action


def test_every_key_denies_grants_that_are_not_for_aws_resources(templates):
    """No principal may create a grant unless it is for an AWS resource or by an AWS service."""
    for key, statements in key_policies(templates).items():
        denies = [
            s
            for s in statements
            if s["Effect"] == "Deny"
            and actions(s) == ["kms:CreateGrant"]
            and s["Principal"] in ("*", {"AWS": "*"})
            and s["Resource"] in ("*", ["*"])
            and s["Condition"]
            == {
                "BoolIfExists": {
                    "kms:GrantIsForAWSResource": "false",
                    "aws:PrincipalIsAWSService": "false",
                }
            }
        ]
        assert len(denies) == 1, key


def test_create_grant_is_allowed_only_for_aws_resources(templates):
    """Each Allow of kms:CreateGrant carries kms:GrantIsForAWSResource true."""
    allowed = 0
    for key, statements in key_policies(templates).items():
        for statement in statements:
            if statement["Effect"] == "Allow" and "kms:CreateGrant" in actions(statement):
                allowed += 1
                bool_ = statement["Condition"].get("Bool", {})
                assert bool_.get("kms:GrantIsForAWSResource") in ("true", True), (key, statement)
    assert allowed >= 1


def test_cloudwatch_logs_may_generate_data_keys_as_documented(templates):
    """The Logs service statement uses kms:GenerateDataKey* like AWS's documented policy."""
    logs = [
        statement
        for statements in key_policies(templates).values()
        for statement in statements
        if statement.get("Principal", {}).get("Service")
        == {"Fn::Sub": "logs.${AWS::Region}.${AWS::URLSuffix}"}
    ]
    assert logs
    for statement in logs:
        assert "kms:GenerateDataKey*" in actions(statement)
        assert "kms:GenerateDataKey" not in actions(statement)
