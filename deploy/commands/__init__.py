"""One module per `python -m deploy` command; each exposes ``run(ctx) -> exit status``."""
