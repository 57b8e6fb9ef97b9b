"""Where the edge stack's logs go: the access-log bucket and the WAF's log group."""

from __future__ import annotations

from .helpers import resources


def test_access_log_bucket_denies_every_request_without_tls(edge):
    """Any principal, any action on the bucket or its objects is denied over plain HTTP."""
    (policy,) = resources(edge, "AWS::S3::BucketPolicy").values()
    assert policy["Properties"]["Bucket"] == {"Ref": "AccessLogBucket"}
    arn = {"Fn::GetAtt": ["AccessLogBucket", "Arn"]}
    denies = [
        statement
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny"
        and statement["Principal"] in ("*", {"AWS": "*"})
        and statement["Action"] in (["s3:*"], "s3:*")
        and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(denies) == 1, policy
    assert denies[0]["Resource"] == [arn, {"Fn::Join": ["", [arn, "/*"]]}]


def test_access_log_bucket_keeps_its_protections(edge):
    """Public access blocked, owner-enforced objects, versioning and expiry stay on the bucket."""
    bucket = edge["Resources"]["AccessLogBucket"]["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and rule["ExpirationInDays"] == {"Ref": "AccessLogDays"}


def test_waf_logs_to_an_encrypted_log_group_without_credentials(edge):
    """With WAF on, the web ACL logs to aws-waf-logs-..., under our key, redacting credentials;
    group and key stay when WAF is switched off (its logs are kept, the name stays free)."""
    (logging,) = resources(edge, "AWS::WAFv2::LoggingConfiguration").values()
    assert logging["Condition"] == "WafEnabled"
    properties = logging["Properties"]
    assert properties["ResourceArn"] == {"Fn::GetAtt": ["WebAcl", "Arn"]}
    (destination,) = properties["LogDestinationConfigs"]
    template, values = destination["Fn::Sub"]
    assert template.startswith("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:")
    assert template.endswith(":log-group:${Group}")
    group_name = values["Group"]["Ref"]
    group = edge["Resources"][group_name]
    assert "Condition" not in group
    assert group["Properties"]["LogGroupName"]["Fn::Sub"].startswith("aws-waf-logs-")
    key = edge["Resources"][group["Properties"]["KmsKeyId"]["Fn::GetAtt"][0]]
    assert "Condition" not in key
    assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["EnableKeyRotation"] is True
    redacted = {field["SingleHeader"]["Name"] for field in properties["RedactedFields"]}
    assert redacted == {"authorization", "cookie"}
