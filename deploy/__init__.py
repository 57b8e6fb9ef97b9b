"""Deploy: one command from ``templates_out/`` to a running stack.

``python -m deploy up`` packages the app artifact and the child templates to S3 under
content-addressed keys, previews a change set with its nested change sets, executes it while
streaming the merged events of the root and every nested stack, and names the root cause of a
failure. ``deploy.cli`` is the thin command layer; ``deploy.deployer.Deployer`` does the work with
the boto3 clients it is given. ``deploy.instances.Operator`` runs ``manage`` (Run Command) and
``refresh`` (instance refresh); ``deploy/bootstrap/`` is what every instance runs at boot, shipped
inside the artifact.
"""
