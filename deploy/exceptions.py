"""Errors the operator can act on: each message says what went wrong and what to do next.

As in the awscli deployer, each class carries a message template filled from keyword arguments,
so the CLI edge prints ``str(error)`` and exits 1 without knowing the cases.
"""

from __future__ import annotations


class DeployError(Exception):
    """Base class: ``fmt`` is formatted with the keyword arguments given to the constructor."""

    fmt = "deploy failed"

    def __init__(self, **kwargs: object):
        self.kwargs = kwargs
        super().__init__(self.fmt.format(**kwargs))


class NoCredentials(DeployError):
    fmt = (
        "No AWS credentials found. Set AWS_PROFILE (after `aws configure` or `aws sso login`) "
        "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, then run again."
    )


class NoRegion(DeployError):
    fmt = "No AWS Region set. Pass --region (for example --region eu-west-1) or set AWS_REGION."


class PreflightFailed(DeployError):
    fmt = "Pre-flight check failed: {what}\n{details}\n{fix}"


class TemplatesMissing(DeployError):
    fmt = (
        "No root template {path}. Build the templates first (`python -m infra build`) or pass "
        "--templates DIR."
    )


class BucketMissing(DeployError):
    fmt = (
        "Bucket {bucket} does not exist (or this account cannot see it). Pass --create-bucket to "
        "create it (encrypted, versioned, public access blocked), or name another with --bucket."
    )


class BucketInOtherRegion(DeployError):
    fmt = (
        "Bucket {bucket} is in {bucket_region}, but the stack is deployed to {region}: nested "
        "stacks read their templates from the stack's own Region. Use a bucket in {region} "
        "(--bucket, or --create-bucket with a new name)."
    )


class BadParameter(DeployError):
    fmt = "Parameter {name}: {problem}"


class ArtifactBuildFailed(DeployError):
    fmt = "Could not build the app artifact from {project}: {reason}"


class StackNotFound(DeployError):
    fmt = (
        "No stack {stack} in {region}. Check --stack-name and --region (a deleted stack is "
        "found by its stack ID only)."
    )


class StackInRollbackComplete(DeployError):
    fmt = (
        "Stack {stack} is in ROLLBACK_COMPLETE: its creation failed and it cannot be updated. "
        "Read why with `python -m deploy events --stack-name {stack}`, delete it with "
        "`python -m deploy down --stack-name {stack}`, then run `up` again."
    )


class StackNeedsRollbackFix(DeployError):
    fmt = (
        "Stack {stack} is UPDATE_ROLLBACK_FAILED: a rollback could not finish and the stack "
        "cannot be updated. Read why with `python -m deploy events --stack-name {stack}`, fix "
        "the resource it names, then run `aws cloudformation continue-update-rollback "
        "--stack-name {stack}` and `up` again."
    )


class StackRollbackFailed(DeployError):
    fmt = (
        "Stack {stack} is ROLLBACK_FAILED: its creation failed and so did the rollback, so "
        "resources may be left and the stack cannot be updated. Read why with `python -m deploy "
        "events --stack-name {stack}`, remove or fix the resource it names, delete the stack "
        "with `python -m deploy down --stack-name {stack}`, then run `up` again."
    )


class StackDeleteFailed(DeployError):
    fmt = (
        "Stack {stack} is DELETE_FAILED: a deletion stopped at a resource it could not delete, "
        "and such a stack cannot be updated. Read which with `python -m deploy events "
        "--stack-name {stack}`, fix it (empty the bucket, detach the dependency it names), then "
        "run `python -m deploy down --stack-name {stack}` again before any new `up`."
    )


class StackImportRollbackFailed(DeployError):
    fmt = (
        "Stack {stack} is IMPORT_ROLLBACK_FAILED: a resource import failed and its rollback did "
        "not finish, so the stack cannot take a change set. Read why with `python -m deploy "
        "events --stack-name {stack}`, fix the resource it names, continue the rollback "
        "(`aws cloudformation continue-update-rollback --stack-name {stack}`), then run `up` "
        "again."
    )


class StackBusy(DeployError):
    fmt = (
        "Stack {stack} is {status}: another operation is running. Watch it with "
        "`python -m deploy events --stack-name {stack} --follow` and run again when it ends."
    )


class ChangeSetFailed(DeployError):
    fmt = (
        "CloudFormation could not create the change set for {stack}: {reason}\n"
        "Fix the template or parameters and run again."
    )


class ChangeSetDenied(DeployError):
    fmt = (
        "CloudFormation refused to create the change set for {stack}: {reason}\n"
        "The caller{role} lacks a permission; the template is not the problem. It needs "
        "cloudformation:CreateChangeSet and DescribeChangeSet on the stack, s3:GetObject on the "
        "templates{pass_role}. Use a role allowed to do this, then run again."
    )


class ChangeSetLimitExceeded(DeployError):
    fmt = (
        "CloudFormation refused to create the change set for {stack}: {reason}\n"
        "An account quota is reached (stacks per Region, or change sets per stack). Delete "
        "change sets you no longer need (`aws cloudformation list-change-sets --stack-name "
        "{stack}`) or stacks you no longer need, or ask for a higher quota in Service Quotas, "
        "then run again."
    )


class ChangeSetWrongState(DeployError):
    fmt = (
        "Stack {stack} cannot take a change set now: {reason}\n"
        "Another operation changed the stack meanwhile. See its state with `python -m deploy "
        "status --stack-name {stack}` and run again when the operation has ended."
    )


class ConfirmationRequired(DeployError):
    fmt = (
        "Not executing: no terminal to ask for confirmation. Review the preview above, then run "
        "again with --yes{what}."
    )


class StackFailed(DeployError):
    """An operation on the stack ended in failure; ``cause`` is the root-cause event, if any."""

    fmt = "{operation} of stack {stack} failed ({status}).\n{cause}\n{fix}"


class ClusterCheckDenied(DeployError):
    fmt = (
        "Cannot check DB cluster {cluster} before deleting: {operation} was denied ({reason}). "
        "Nothing was deleted. `down` must read the cluster's deletion protection and its "
        "auto-scaled readers first; run it with a role allowed rds:DescribeDBClusters (and "
        "rds:DescribeDBInstances) on the stack's clusters."
    )


class ReadersStillThere(DeployError):
    fmt = (
        "The readers auto scaling added are still there after {minutes} minutes: {readers}. "
        "Nothing else was changed: the stack and its protections are as they were. See their "
        "state with `aws rds describe-db-instances`, then run `down` again."
    )


class TerminationProtected(DeployError):
    fmt = (
        "{what} has deletion protection on. If you really mean to delete it, run again with "
        "--disable-protection (it turns the protection off, then deletes)."
    )


class NoAutoScalingGroup(DeployError):
    fmt = (
        "Stack {stack} has no Auto Scaling group{found}. Check --stack-name (the root stack); "
        "`python -m deploy status --stack-name {stack}` lists its nested stacks."
    )


class NoInstanceInService(DeployError):
    fmt = (
        "No instance of {group} is InService and healthy. If instances are booting or being "
        "replaced, wait and run again; `python -m deploy events --stack-name {stack}` shows a "
        "failed boot's reason."
    )


class InstanceNotInGroup(DeployError):
    fmt = (
        "Instance {instance} is not an InService, healthy instance of {group} (those are: "
        "{instances}). Pick one of them, or leave out --instance-id."
    )


class InstanceNotManaged(DeployError):
    fmt = (
        "Run Command cannot reach {instance}: {reason} Its SSM agent must be online and its "
        "role must allow Session Manager (AmazonSSMManagedInstanceCore); a just-launched "
        "instance needs a minute to register."
    )


class CommandDidNotFinish(DeployError):
    fmt = (
        "Command {command_id} on {instance} had not finished {seconds}s after --timeout. It may "
        "still run: `aws ssm get-command-invocation --command-id {command_id} --instance-id "
        "{instance}`; cancel it with `aws ssm cancel-command --command-id {command_id}`."
    )


class RefreshInProgress(DeployError):
    fmt = (
        "An instance refresh is already running on {group}. Wait for it (`aws autoscaling "
        "describe-instance-refreshes --auto-scaling-group-name {group}`) or cancel it (`aws "
        "autoscaling cancel-instance-refresh --auto-scaling-group-name {group}`), then run "
        "again."
    )


class RefreshFailed(DeployError):
    fmt = (
        "Instance refresh {refresh_id} of {group} ended {status}{reason}. The group's scaling "
        "activities say which instance failed (`aws autoscaling describe-scaling-activities "
        "--auto-scaling-group-name {group}`); a failed boot logs its reason to the gunicorn log "
        "group (stream <instance id>-bootstrap)."
    )
