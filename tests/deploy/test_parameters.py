"""Which parameters a change set gets: the given ones, and on an update the previous ones."""

from __future__ import annotations

from deploy.deployer import parameters

DECLARED = {
    "VpcCidr": {"Type": "String", "Default": "10.0.0.0/16"},
    "NatGateways": {"Type": "String", "Default": "1"},
    "DomainName": {"Type": "String"},
}


def previous(status: str = "UPDATE_COMPLETE", **values: str) -> dict:
    entries = [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]
    return {"StackStatus": status, "Parameters": entries}


def test_update_keeps_previous_values_not_given():
    """A parameter not given keeps its previous value; one equal to its default is left out."""
    result = parameters(
        DECLARED,
        {"DomainName": "example.org"},
        previous(VpcCidr="10.0.0.0/16", NatGateways="3", DomainName="old.example.org"),
    )
    assert result == [
        {"ParameterKey": "DomainName", "ParameterValue": "example.org"},
        {"ParameterKey": "NatGateways", "UsePreviousValue": True},
    ]


def test_create_and_review_pass_only_what_is_given():
    """A new stack, or one still in review, gets the given values and template defaults."""
    given = {"NatGateways": "2"}
    expected = [{"ParameterKey": "NatGateways", "ParameterValue": "2"}]
    assert parameters(DECLARED, given, None) == expected
    assert parameters(DECLARED, given, previous("REVIEW_IN_PROGRESS", VpcCidr="x")) == expected
