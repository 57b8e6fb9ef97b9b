"""CloudFormation compiler: one module per nested stack, each a pure ``build(params) -> Template``.

``python -m infra build`` writes the templates to ``templates_out/``; ``python -m infra lint`` runs
cfn-lint, checkov and cfn-guard (AWS Control Tower's rules) on them. ``infra.root`` is the only
module that wires stacks together.
"""
