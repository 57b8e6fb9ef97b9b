"""The WAF rules of the edge stack, applied to requests the way WAF evaluates them."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from .helpers import conditions, present

LOGIN_RULE = "AdminLoginRateLimit"


def normalize_path(value: str) -> str:
    """WAF's NORMALIZE_PATH: repeated slashes, ``/./`` and ``/../`` (not at the start) removed."""
    value = re.sub(r"/{2,}", "/", value)
    segments: list[str] = []
    for segment in value.split("/"):
        if segment == "." and segments:
            continue
        if segment == ".." and len(segments) > 1:
            segments.pop()
            continue
        segments.append(segment)
    return "/".join(segments)


TRANSFORMATIONS = {
    "NONE": lambda value: value,
    "URL_DECODE": unquote,
    "LOWERCASE": str.lower,
    "NORMALIZE_PATH": normalize_path,
}
POSITIONS = {
    "EXACTLY": lambda value, search: value == search,
    "STARTS_WITH": str.startswith,
    "ENDS_WITH": str.endswith,
    "CONTAINS": lambda value, search: search in value,
}


def field(request: dict, to_match: dict) -> str:
    """The part of a request that a FieldToMatch names (only the ones these rules use)."""
    ((name, _),) = to_match.items()
    return {"UriPath": request["path"], "Method": request["method"]}[name]


def matches(statement: dict, request: dict) -> bool:
    """Whether a WAF statement matches a request, from the statement's own fields."""
    ((kind, body),) = statement.items()
    if kind == "AndStatement":
        return all(matches(inner, request) for inner in body["Statements"])
    if kind == "OrStatement":
        return any(matches(inner, request) for inner in body["Statements"])
    if kind == "NotStatement":
        return not matches(body["Statement"], request)
    if kind == "ByteMatchStatement":
        value = field(request, body["FieldToMatch"])
        for step in sorted(body["TextTransformations"], key=lambda step: step["Priority"]):
            value = TRANSFORMATIONS[step["Type"]](value)
        return POSITIONS[body["PositionalConstraint"]](value, body["SearchString"])
    raise AssertionError(f"this test cannot evaluate a {kind}")


@pytest.fixture(scope="module")
def login_scope(edge) -> dict:
    """The statement that selects the requests the admin-login rate limit counts."""
    (rule,) = [
        r for r in edge["Resources"]["WebAcl"]["Properties"]["Rules"] if r["Name"] == LOGIN_RULE
    ]
    return rule["Statement"]["RateBasedStatement"]["ScopeDownStatement"]


@pytest.mark.parametrize(
    "path",
    [
        "/admin/login/",
        "/admin/%6Cogin/",
        "/admin%2Flogin/",
        "/admin%2flogin/",
        "//admin//login/",
        "/admin/./login/",
        "/ADMIN/%4Cogin/",
        "/admin/login",
    ],
)
def test_login_posts_are_counted_however_the_path_is_encoded(login_scope, path):
    """gunicorn decodes %6C and %2F: every spelling of the login path that reaches Django counts."""
    assert matches(login_scope, {"method": "POST", "path": path})


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/admin/login/"), ("POST", "/admin/employees/"), ("POST", "/api/employees/")],
)
def test_only_login_posts_are_counted(login_scope, method, path):
    """Showing the login form or posting elsewhere does not use up a client's login budget."""
    assert not matches(login_scope, {"method": method, "path": path})


def test_login_match_decodes_then_normalises_then_lowercases(login_scope):
    """The path's transformations run URL_DECODE before the path is normalised and lowercased."""
    (path_match,) = [
        s["ByteMatchStatement"]
        for s in login_scope["AndStatement"]["Statements"]
        if "UriPath" in s["ByteMatchStatement"]["FieldToMatch"]
    ]
    steps = sorted(path_match["TextTransformations"], key=lambda step: step["Priority"])
    assert [step["Type"] for step in steps] == ["URL_DECODE", "NORMALIZE_PATH", "LOWERCASE"]


@pytest.mark.parametrize(
    ("group", "parameter", "default"),
    [
        ("AWSManagedRulesSQLiRuleSet", "WafSqlInjectionAction", "Count"),
        ("AWSManagedRulesAmazonIpReputationList", "WafIpReputationAction", "Block"),
    ],
)
def test_managed_groups_count_or_block_as_their_parameter_says(edge, group, parameter, default):
    """SQL injection and IP reputation rules run; a parameter switches each from count to block."""
    declared = edge["Parameters"][parameter]
    assert declared["Default"] == default
    assert sorted(declared["AllowedValues"]) == ["Block", "Count"]
    for action, override in (("Block", {"None": {}}), ("Count", {"Count": {}})):
        truth = conditions(edge, {parameter: action})
        acl = present(edge, truth)["WebAcl"]["Properties"]
        (rule,) = [
            r
            for r in acl["Rules"]
            if r["Statement"].get("ManagedRuleGroupStatement", {}).get("Name") == group
        ]
        assert rule["OverrideAction"] == override, action
