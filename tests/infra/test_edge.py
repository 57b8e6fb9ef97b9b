"""Properties of the edge stack (issue 9), read from the compiled template."""

from __future__ import annotations

import pytest

from infra import edge as edge_module

from .helpers import conditions, evaluate_rule, present, resources

LISTENER = "AWS::ElasticLoadBalancingV2::Listener"
CERT = "arn:aws:acm:xx-test-1:123456789012:certificate/0000"
HTTP_LISTENER = edge_module.HTTP_LISTENER


def existing(edge: dict, scenario: dict[str, str]) -> dict[str, dict]:
    """The edge's resources as CloudFormation creates them for the parameter values."""
    return present(edge, conditions(edge, scenario))


def listeners(edge: dict, scenario: dict[str, str]) -> dict[str, dict]:
    """Listener properties by logical ID for the parameter values."""
    now = existing(edge, scenario)
    return {name: r["Properties"] for name, r in now.items() if r["Type"] == LISTENER}


def attributes(resource: dict, key: str) -> dict[str, object]:
    """A load balancer's or target group's attributes as a dict."""
    return {item["Key"]: item["Value"] for item in resource["Properties"][key]}


def load_balancer(edge: dict) -> dict:
    """The one load balancer."""
    ((_, resource),) = resources(edge, "AWS::ElasticLoadBalancingV2::LoadBalancer").items()
    return resource


def test_load_balancer_is_internet_facing_across_the_public_subnets(edge):
    """An internet-facing ALB in the public subnets, with the load balancer group only."""
    properties = load_balancer(edge)["Properties"]
    assert properties["Type"] == "application"
    assert properties["Scheme"] == "internet-facing"
    assert properties["Subnets"] == {"Ref": "PublicSubnetIds"}
    assert properties["SecurityGroups"] == [{"Ref": "LoadBalancerSecurityGroupId"}]


def test_with_a_certificate_https_uses_tls_13_and_http_only_redirects(edge):
    """With CertificateArn: HTTPS on 443 with a TLS 1.3 policy, and port 80 only redirects."""
    now = listeners(edge, {"CertificateArn": CERT})
    assert set(now) == {"HttpsListener", HTTP_LISTENER}
    https = now["HttpsListener"]
    assert (https["Protocol"], https["Port"]) == ("HTTPS", 443)
    assert https["SslPolicy"].startswith("ELBSecurityPolicy-TLS13-")
    assert https["Certificates"] == [{"CertificateArn": {"Ref": "CertificateArn"}}]
    (action,) = now[HTTP_LISTENER]["DefaultActions"]
    assert action["Type"] == "redirect"
    assert action["RedirectConfig"]["Protocol"] == "HTTPS"
    assert action["RedirectConfig"]["StatusCode"] == "HTTP_301"


def test_without_a_certificate_port_80_forwards_and_its_checkov_skips_say_why(edge):
    """Without CertificateArn the only listener forwards plain HTTP; its checkov skips say why."""
    now = listeners(edge, {"CertificateArn": ""})
    assert set(now) == {HTTP_LISTENER}
    (action,) = now[HTTP_LISTENER]["DefaultActions"]
    assert action == {"Type": "forward", "TargetGroupArn": {"Ref": "TargetGroup"}}
    skips = edge["Resources"][HTTP_LISTENER]["Metadata"]["checkov"]["skip"]
    assert {skip["id"] for skip in skips} == {"CKV_AWS_2", "CKV_AWS_103"}
    assert all(skip["comment"] for skip in skips)


def test_adding_a_certificate_later_keeps_the_one_port_80_listener(edge):
    """Setting or clearing CertificateArn on a running stack changes the port-80 listener's
    actions in place: one resource in both states, so CloudFormation never creates a second
    listener on port 80, which Elastic Load Balancing refuses (UPDATE_ROLLBACK)."""
    port_80 = [
        {name for name, p in listeners(edge, {"CertificateArn": cert}).items() if p["Port"] == 80}
        for cert in ("", CERT)
    ]
    assert port_80 == [{HTTP_LISTENER}, {HTTP_LISTENER}]
    assert "Condition" not in edge["Resources"][HTTP_LISTENER]


def test_invalid_headers_dropped_and_desync_mitigation_defensive(edge):
    """The ALB drops invalid header fields and mitigates desync (defensive or strictest)."""
    values = attributes(load_balancer(edge), "LoadBalancerAttributes")
    assert values["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert values["routing.http.desync_mitigation_mode"] in ("defensive", "strictest")


def test_deletion_protection_is_a_parameter(edge):
    """Load balancer deletion protection comes from a true/false parameter."""
    values = attributes(load_balancer(edge), "LoadBalancerAttributes")
    assert values["deletion_protection.enabled"] == {"Ref": "LoadBalancerDeletionProtection"}
    assert edge["Parameters"]["LoadBalancerDeletionProtection"]["AllowedValues"] == [
        "true",
        "false",
    ]


def test_load_balancer_deletion_protection_defaults_to_off(edge, root_template):
    """The load balancer holds no data: protected by default, a failed first create could not
    delete it in its rollback and would end in ROLLBACK_FAILED."""
    for template in (edge, root_template):
        assert template["Parameters"]["LoadBalancerDeletionProtection"]["Default"] == "false"


def test_access_logs_go_to_a_private_sse_s3_bucket_with_a_lifecycle(edge):
    """Access logs go to a bucket with SSE-S3, every public access block, and an expiry rule."""
    values = attributes(load_balancer(edge), "LoadBalancerAttributes")
    assert values["access_logs.s3.enabled"] == "true"
    bucket = edge["Resources"][values["access_logs.s3.bucket"]["Ref"]]
    properties = bucket["Properties"]
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(properties["PublicAccessBlockConfiguration"]) == 4
    (lifecycle,) = properties["LifecycleConfiguration"]["Rules"]
    assert lifecycle["Status"] == "Enabled"
    assert lifecycle["ExpirationInDays"] == {"Ref": "AccessLogDays"}
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"


def test_only_elb_log_delivery_may_write_the_bucket(edge):
    """The bucket policy lets only ELB log delivery put objects under this account's prefix."""
    (policy,) = resources(edge, "AWS::S3::BucketPolicy").values()
    (statement,) = [
        s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"
    ]
    assert statement["Action"] == ["s3:PutObject"]
    assert statement["Resource"] == [
        {"Fn::Sub": "${AccessLogBucket.Arn}/AWSLogs/${AWS::AccountId}/*"}
    ]
    legacy, modern = statement["Principal"]["Fn::If"][1:]
    assert modern == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    assert "AWS" in legacy
    assert load_balancer(edge)["DependsOn"] == "AccessLogBucketPolicy"


def test_target_group_checks_healthz_on_8000_with_a_short_deregistration_delay(edge):
    """Targets listen on 8000; health checks read /healthz; deregistration waits 30 s or less."""
    (group,) = resources(edge, "AWS::ElasticLoadBalancingV2::TargetGroup").values()
    properties = group["Properties"]
    assert (properties["Protocol"], properties["Port"]) == ("HTTP", 8000)
    assert properties["HealthCheckPath"] == "/healthz"
    delay = int(attributes(group, "TargetGroupAttributes")["deregistration_delay.timeout_seconds"])
    assert 5 <= delay <= 60


@pytest.mark.parametrize("waf", ["Enabled", "Disabled"])
def test_waf_is_optional(edge, waf):
    """The web ACL and its association exist only when Waf is Enabled."""
    now = existing(edge, {"Waf": waf})
    kinds = {r["Type"] for r in now.values()}
    expected = {"AWS::WAFv2::WebACL", "AWS::WAFv2::WebACLAssociation"}
    assert kinds & expected == (expected if waf == "Enabled" else set())


def test_waf_has_managed_rule_sets_and_an_admin_login_rate_limit(edge):
    """The ACL runs AWS's managed rule sets (count or block: test_edge_waf.py) and rate-limits
    /admin/login/."""
    acl = edge["Resources"]["WebAcl"]["Properties"]
    assert acl["Scope"] == "REGIONAL"
    managed = {
        rule["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for rule in acl["Rules"]
        if "ManagedRuleGroupStatement" in rule["Statement"]
    }
    assert managed == {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesSQLiRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    }
    (rate,) = [rule for rule in acl["Rules"] if "RateBasedStatement" in rule["Statement"]]
    statement = rate["Statement"]["RateBasedStatement"]
    assert rate["Action"] == {"Block": {}}
    assert statement["Limit"] == {"Ref": "AdminLoginRateLimit"}
    assert statement["AggregateKeyType"] == "IP"
    # What the scope-down statement matches: tests/infra/test_edge_waf.py.
    assert "AndStatement" in statement["ScopeDownStatement"]
    association = edge["Resources"]["WebAclAssociation"]["Properties"]
    assert association["ResourceArn"] == {"Ref": "LoadBalancer"}


@pytest.mark.parametrize(
    ("domain", "zone", "record"),
    [("www.example.com", "Z123", True), ("www.example.com", "", False), ("", "", False)],
)
def test_dns_alias_only_with_domain_and_zone(edge, domain, zone, record):
    """The Route 53 alias record exists only when DomainName and HostedZoneId are both given."""
    now = existing(edge, {"DomainName": domain, "HostedZoneId": zone})
    records = [r for r in now.values() if r["Type"] == "AWS::Route53::RecordSet"]
    assert bool(records) is record
    if record:
        (dns,) = records
        assert dns["Properties"]["AliasTarget"]["DNSName"] == {
            "Fn::GetAtt": ["LoadBalancer", "DNSName"]
        }


def test_site_url_follows_certificate_and_domain(edge):
    """SiteUrl is https:// only with a certificate, on the domain when one is given."""
    url = edge["Outputs"][edge_module.SITE_URL]["Value"]["Fn::Join"][1]
    assert url[0] == {"Fn::If": [edge_module.HAS_CERTIFICATE, "https://", "http://"]}
    assert url[1]["Fn::If"][0] == edge_module.HAS_DOMAIN


def test_common_rule_set_only_counts_large_bodies(edge):
    """The admin's bulk actions and long forms exceed 8 KB: that one rule counts, never blocks."""
    acl = edge["Resources"]["WebAcl"]["Properties"]
    (common,) = [
        rule["Statement"]["ManagedRuleGroupStatement"]
        for rule in acl["Rules"]
        if rule["Statement"].get("ManagedRuleGroupStatement", {}).get("Name")
        == "AWSManagedRulesCommonRuleSet"
    ]
    assert common["RuleActionOverrides"] == [
        {"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}
    ]


@pytest.mark.parametrize(
    ("template_name", "certificate", "domain", "accepted"),
    [
        ("edge", "", "", True),
        ("edge", "arn:aws:acm:eu-west-1:123456789012:certificate/abc", "", False),
        ("edge", "arn:aws:acm:eu-west-1:123456789012:certificate/abc", "site.example.com", True),
        ("root", "arn:aws:acm:eu-west-1:123456789012:certificate/abc", "", False),
    ],
)
def test_a_certificate_needs_the_domain_it_covers(
    templates, template_name, certificate, domain, accepted
):
    """Without DomainName the site would be https://<the ALB's name>, which no certificate covers;
    the Rule refuses that before anything is created (in the root too)."""
    rule = templates[template_name]["Rules"]["CertificateNeedsDomainName"]
    values = {"CertificateArn": certificate, "DomainName": domain}
    applies = evaluate_rule(rule["RuleCondition"], values)
    holds = all(evaluate_rule(a["Assert"], values) for a in rule["Assertions"])
    assert (not applies or holds) is accepted
